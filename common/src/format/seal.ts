// Client-side encryption (AES-256-GCM). Every sealed frame is authenticated together with where it
// belongs (its object or pack, its sequence number, whether it is the last), so frames cannot be
// swapped, reordered, truncated or moved between objects or backups without detection.
//
// Sealed frame: u32 BE length of (flags + ciphertext + tag) | u8 flags (bit 0: final) | ciphertext | tag(16)
// Nonce: 4 zero bytes | u64 BE sequence number. Keys are derived with HKDF-SHA256 from the
// tenant's key and a salt that is unique per pack (its random id) or per object (random, stored).
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { CairnError } from '../errors.ts';
import type { Secret } from '../secret.ts';

export const KEY_BYTES = 32;
const TAG_BYTES = 16;
const FLAG_FINAL = 1;
export const OBJECT_MAGIC = Buffer.from('CSL1');
export const OBJECT_SALT_BYTES = 16;

export function checkKey(key: Secret<Buffer>): Buffer {
  const k = key.reveal();
  if (k.length !== KEY_BYTES) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `encryption key must be ${KEY_BYTES} bytes, got ${k.length}`);
  return k;
}

export function deriveKey(master: Buffer, salt: Buffer | string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, salt, info, KEY_BYTES));
}

/** A short public fingerprint of the key, so a wrong key is told apart from corruption. */
export function keyFingerprint(master: Buffer): string {
  return createHmac('sha256', master).update('cairn/v1/key-fingerprint').digest('hex').slice(0, 16);
}

function nonce(seq: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(seq), 4);
  return n;
}

function frameAad(context: string, seq: number, flags: number): Buffer {
  return Buffer.from(`${context}|${seq}|${flags}`);
}

export function sealFrame(key: Buffer, context: string, seq: number, final: boolean, plaintext: Buffer): Buffer {
  return Buffer.concat(sealFrameParts(key, context, seq, final, plaintext));
}

/**
 * The sealed frame as its three parts, whose concatenation is `sealFrame`'s result: the length
 * and flags (5 bytes), the ciphertext, the tag. A writer that streams the parts saves copying a
 * frame's worth of ciphertext into one buffer.
 */
export function sealFrameParts(key: Buffer, context: string, seq: number, final: boolean, plaintext: Buffer): [Buffer, Buffer, Buffer] {
  const flags = final ? FLAG_FINAL : 0;
  const cipher = createCipheriv('aes-256-gcm', key, nonce(seq));
  cipher.setAAD(frameAad(context, seq, flags));
  const first = cipher.update(plaintext);
  const rest = cipher.final();
  const body = rest.length === 0 ? first : Buffer.concat([first, rest]);
  const head = Buffer.allocUnsafe(5);
  head.writeUInt32BE(1 + body.length + TAG_BYTES, 0);
  head[4] = flags;
  return [head, body, cipher.getAuthTag()];
}

export interface OpenedFrame {
  plaintext: Buffer;
  final: boolean;
  /** Bytes of `buf` this frame took. */
  consumed: number;
}

/** Opens the sealed frame at the start of `buf`; `where` names the object in errors. */
export function openFrame(key: Buffer, context: string, seq: number, buf: Buffer, where: string): OpenedFrame {
  if (buf.length < 4) throw new CairnError('CAIRN_E_CORRUPT', `${where}: sealed frame ${seq} is truncated`);
  const len = buf.readUInt32BE(0);
  if (len < 1 + TAG_BYTES || buf.length < 4 + len) throw new CairnError('CAIRN_E_CORRUPT', `${where}: sealed frame ${seq} is truncated or has a bad length`);
  const flags = buf[4]!;
  const body = buf.subarray(5, 4 + len - TAG_BYTES);
  const tag = buf.subarray(4 + len - TAG_BYTES, 4 + len);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce(seq));
  decipher.setAAD(frameAad(context, seq, flags));
  decipher.setAuthTag(tag);
  try {
    const first = decipher.update(body);
    const rest = decipher.final();
    const plaintext = rest.length === 0 ? first : Buffer.concat([first, rest]);
    return { plaintext, final: (flags & FLAG_FINAL) !== 0, consumed: 4 + len };
  } catch {
    throw new CairnError('CAIRN_E_CORRUPT', `${where}: sealed frame ${seq} failed authentication (corrupted, moved or reordered)`);
  }
}

/** Seals a whole object (index chunks, manifest): magic | salt | frames, the last one final. */
export class ObjectSealer {
  private readonly key: Buffer;
  private readonly context: string;
  private seq = 0;
  readonly header: Buffer;

  constructor(master: Buffer, objectKey: string) {
    const salt = randomBytes(OBJECT_SALT_BYTES);
    this.key = deriveKey(master, salt, 'cairn/v1/object');
    this.context = objectKey;
    this.header = Buffer.concat([OBJECT_MAGIC, salt]);
  }

  seal(chunk: Buffer, final: boolean): Buffer {
    return sealFrame(this.key, this.context, this.seq++, final, chunk);
  }
}

/** Opens a sealed object held in memory and returns its plaintext frames in order. */
export function openObject(master: Buffer, objectKey: string, data: Buffer): Buffer[] {
  const where = objectKey;
  if (data.length < OBJECT_MAGIC.length + OBJECT_SALT_BYTES || !data.subarray(0, 4).equals(OBJECT_MAGIC)) {
    throw new CairnError('CAIRN_E_FORMAT', `${where}: not a sealed object (encryption is on for this location, but the object is not encrypted)`);
  }
  const salt = data.subarray(4, 4 + OBJECT_SALT_BYTES);
  const key = deriveKey(master, salt, 'cairn/v1/object');
  const out: Buffer[] = [];
  let pos = 4 + OBJECT_SALT_BYTES;
  for (let seq = 0; ; seq++) {
    const f = openFrame(key, objectKey, seq, data.subarray(pos), where);
    out.push(f.plaintext);
    pos += f.consumed;
    if (f.final) break;
    if (pos >= data.length) throw new CairnError('CAIRN_E_CORRUPT', `${where}: truncated (no final frame)`);
  }
  if (pos !== data.length) throw new CairnError('CAIRN_E_CORRUPT', `${where}: data after the final frame`);
  return out;
}

export function packKey(master: Buffer, packId: string): Buffer {
  return deriveKey(master, packId, 'cairn/v1/pack');
}

export function packContext(lineage: string, packId: string): string {
  return `pack|${lineage}|${packId}`;
}
