// A volume's index object: NDJSON (a header line, one line per entry in path order, a trailer
// line), compressed as independent zstd frames of about 1 MiB and, when encrypted, each frame
// sealed (see seal.ts). The trailer's entry count and the manifest's SHA-256 of the object make
// truncation and substitution detectable.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { CairnError } from '../errors.ts';
import { decodeEntry, encodeEntry, type IndexEntry } from './index-entry.ts';
import { FORMAT_VERSION, checkPackId } from './layout.ts';
import { OBJECT_MAGIC, OBJECT_SALT_BYTES, ObjectSealer, deriveKey, openFrame } from './seal.ts';
import { compressFrame, decompressFrame, type FrameLimits } from './zstd-frame.ts';

export interface IndexHeader {
  backup: string;
  volume: string;
  lineage: string;
}

export interface IndexTrailer {
  entries: number;
  packs: string[];
}

export interface IndexWriterOptions {
  objectKey: string;
  header: IndexHeader;
  /** The tenant's key; the index is sealed when present. */
  key?: Buffer;
  level?: number;
  chunkBytes?: number;
  /** Receives the object's bytes in order; awaited, so backpressure reaches the writer. */
  out: (chunk: Buffer) => Promise<void>;
}

export interface IndexSummary {
  sha256: string;
  bytes: number;
  entries: number;
  packs: string[];
}

export class IndexWriter {
  private readonly o: IndexWriterOptions;
  private readonly sealer: ObjectSealer | undefined;
  private readonly hash = createHash('sha256');
  private readonly packs = new Set<string>();
  private lines: string[] = [];
  private pending = 0;
  private bytes = 0;
  private entries = 0;
  private started = false;

  constructor(o: IndexWriterOptions) {
    this.o = o;
    this.sealer = o.key ? new ObjectSealer(o.key, o.objectKey) : undefined;
  }

  /**
   * Adds an entry; the promise (only when the entry completed a chunk, or started the object)
   * resolves once `out` took the chunk. Most entries need no await: a writer of millions of
   * entries saves a promise each.
   */
  add(e: IndexEntry): Promise<void> | undefined {
    if (!this.started) return this.start().then(() => this.add(e));
    if (e.loc) this.packs.add(e.loc.pack);
    this.entries++;
    return this.push(encodeEntry(e));
  }

  /**
   * Writes the trailer. `written` are the packs this run wrote: they hold the tar headers of
   * directories and links too, which the standard-tools recovery needs even when no entry's data
   * is in them, so they are listed (and kept by garbage collection) as well.
   */
  async finish(written: readonly string[] = []): Promise<IndexSummary> {
    if (!this.started) await this.start();
    for (const p of written) this.packs.add(p);
    const packs = [...this.packs].sort();
    this.lines.push(JSON.stringify({ end: true, entries: this.entries, packs }));
    await this.flush(true);
    return { sha256: this.hash.digest('hex'), bytes: this.bytes, entries: this.entries, packs };
  }

  private async start(): Promise<void> {
    this.started = true;
    if (this.sealer) await this.emit(this.sealer.header);
    await this.push(JSON.stringify({ cairn: 'index', version: FORMAT_VERSION, ...this.o.header, encrypted: this.sealer !== undefined }));
  }

  private push(line: string): Promise<void> | undefined {
    this.lines.push(line);
    this.pending += line.length + 1;
    return this.pending >= (this.o.chunkBytes ?? 1 << 20) ? this.flush(false) : undefined;
  }

  private async flush(final: boolean): Promise<void> {
    const text = Buffer.from(`${this.lines.join('\n')}\n`);
    this.lines = [];
    this.pending = 0;
    const frame = compressFrame(text, this.o.level ?? 3);
    await this.emit(this.sealer ? this.sealer.seal(frame, final) : frame);
  }

  private async emit(b: Buffer): Promise<void> {
    this.hash.update(b);
    this.bytes += b.length;
    await this.o.out(b);
  }
}

export interface IndexReadOptions {
  objectKey: string;
  key?: Buffer;
  /** The SHA-256 the manifest recorded; checked when the object has been read. */
  expectSha256?: string;
  limits: FrameLimits & { maxLineBytes: number };
}

export interface IndexReader {
  header: IndexHeader & { encrypted: boolean };
  entries: AsyncGenerator<IndexEntry, IndexTrailer>;
}

/**
 * Bytes received and not consumed yet. The buffer grows geometrically, so a byte is copied a
 * constant number of times and reassembling a frame delivered in many small chunks costs linear
 * time: an endpoint that sends a frame a few bytes at a time cannot make the reader copy it over
 * and over.
 */
class Pending {
  private buf = Buffer.alloc(0);
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  push(chunk: Buffer): void {
    if (this.end + chunk.length > this.buf.length) {
      // A new buffer (never one a returned view still points into), with room to grow.
      const next = Buffer.allocUnsafe(Math.max(2 * (this.length + chunk.length), 64 << 10));
      this.buf.copy(next, 0, this.start, this.end);
      this.buf = next;
      this.end = this.length;
      this.start = 0;
    }
    chunk.copy(this.buf, this.end);
    this.end += chunk.length;
  }

  /** The unconsumed bytes (a view, valid until the next push). */
  view(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }

  consume(n: number): void {
    this.start += n;
  }
}

/** Decompressed (and opened) chunks of an index object read from a stream. */
async function* plainChunks(stream: AsyncIterable<Buffer>, o: IndexReadOptions, hash: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  const buf = new Pending();
  let sealed: { key: Buffer; seq: number; done: boolean } | undefined;
  let first = true;
  const scan = new FrameScan(o.objectKey);
  const maxPending = o.limits.maxFrameBytes + (1 << 20);
  for await (const chunk of stream) {
    hash.update(chunk);
    buf.push(chunk);
    if (first && buf.length >= OBJECT_MAGIC.length + OBJECT_SALT_BYTES) {
      first = false;
      const head = buf.view();
      const isSealed = head.subarray(0, 4).equals(OBJECT_MAGIC);
      if (isSealed !== (o.key !== undefined)) {
        throw new CairnError('CAIRN_E_FORMAT', `${o.objectKey}: index is ${isSealed ? '' : 'not '}encrypted, but the location's key is ${o.key ? 'set' : 'not set'}`);
      }
      if (isSealed) {
        sealed = { key: deriveKey(o.key!, head.subarray(4, 4 + OBJECT_SALT_BYTES), 'cairn/v1/object'), seq: 0, done: false };
        buf.consume(4 + OBJECT_SALT_BYTES);
      }
    }
    if (first) continue;
    for (;;) {
      const view = buf.view();
      let frame: Buffer | undefined;
      if (sealed) {
        if (view.length < 4 || view.length < 4 + view.readUInt32BE(0)) break;
        if (sealed.done) throw new CairnError('CAIRN_E_CORRUPT', `${o.objectKey}: data after the final frame`);
        const opened = openFrame(sealed.key, o.objectKey, sealed.seq++, view, o.objectKey);
        sealed.done = opened.final;
        frame = opened.plaintext;
        buf.consume(opened.consumed);
      } else {
        const size = scan.size(view);
        if (size === undefined) break;
        frame = view.subarray(0, size);
        buf.consume(size);
        scan.reset();
      }
      yield decompressFrame(frame, o.limits, o.objectKey);
    }
    if (buf.length > maxPending) throw new CairnError('CAIRN_E_LIMIT_EXCEEDED', `${o.objectKey}: a frame larger than ${maxPending} bytes`);
  }
  if (first || buf.length > 0) throw new CairnError('CAIRN_E_CORRUPT', `${o.objectKey}: truncated`);
  if (sealed && !sealed.done) throw new CairnError('CAIRN_E_CORRUPT', `${o.objectKey}: truncated (no final frame)`);
}

/**
 * The size of the zstd frame at the start of a buffer, found by walking its block headers
 * (RFC 8878 section 3.1.1) as its bytes arrive. The walk resumes where it stopped, so a frame of
 * many small blocks received in many small chunks is walked once, not once per chunk.
 */
class FrameScan {
  private readonly where: string;
  /** Offset of the next block header (0: the frame header is not read yet). */
  private pos = 0;
  private checksum = false;
  private lastSeen = false;

  constructor(where: string) {
    this.where = where;
  }

  reset(): void {
    this.pos = 0;
    this.checksum = false;
    this.lastSeen = false;
  }

  /** The frame's size once `buf` holds all of it, else undefined. */
  size(buf: Buffer): number | undefined {
    if (this.pos === 0) {
      if (buf.length < 6) return undefined;
      if (buf.readUInt32LE(0) !== 0xfd2fb528) throw new CairnError('CAIRN_E_CORRUPT', `${this.where}: not a zstd frame`);
      const fhd = buf[4]!;
      const fcsFlag = fhd >> 6;
      const single = (fhd >> 5) & 1;
      this.checksum = ((fhd >> 2) & 1) === 1;
      const dictIdFlag = fhd & 3;
      this.pos = 5 + (single ? 0 : 1) + [0, 1, 2, 4][dictIdFlag]! + [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
    }
    while (!this.lastSeen) {
      if (buf.length < this.pos + 3) return undefined;
      const bh = buf[this.pos]! | (buf[this.pos + 1]! << 8) | (buf[this.pos + 2]! << 16);
      const type = (bh >> 1) & 3;
      this.pos += 3 + (type === 1 ? 1 : bh >>> 3);
      this.lastSeen = (bh & 1) === 1;
    }
    const end = this.pos + (this.checksum ? 4 : 0);
    return buf.length >= end ? end : undefined;
  }
}

/** Reads an index object as a stream of entries; the generator returns the trailer. */
export async function openIndex(stream: Readable, o: IndexReadOptions): Promise<IndexReader> {
  const hash = createHash('sha256');
  const lines = splitLines(plainChunks(stream, o, hash), o);
  const first = await lines.next();
  if (first.done) throw new CairnError('CAIRN_E_CORRUPT', `${o.objectKey}: empty index`);
  const h = parseJson(first.value, `${o.objectKey} line 1`);
  if (h.cairn !== 'index' || h.version !== FORMAT_VERSION) throw new CairnError('CAIRN_E_FORMAT', `${o.objectKey}: not a Cairn v${FORMAT_VERSION} index`);
  const header = { backup: String(h.backup), volume: String(h.volume), lineage: String(h.lineage), encrypted: h.encrypted === true };
  async function* entries(): AsyncGenerator<IndexEntry, IndexTrailer> {
    let n = 1;
    let count = 0;
    for (;;) {
      const r = await lines.next();
      n++;
      if (r.done) throw new CairnError('CAIRN_E_CORRUPT', `${o.objectKey}: truncated (no trailer)`);
      if (r.value.startsWith('{"end":')) {
        const t = parseJson(r.value, `${o.objectKey} line ${n}`);
        if (t.entries !== count || !Array.isArray(t.packs)) throw new CairnError('CAIRN_E_CORRUPT', `${o.objectKey}: trailer counts ${String(t.entries)} entries, found ${count}`);
        if (!(await lines.next()).done) throw new CairnError('CAIRN_E_CORRUPT', `${o.objectKey}: data after the trailer`);
        const digest = hash.digest('hex');
        if (o.expectSha256 !== undefined && digest !== o.expectSha256) throw new CairnError('CAIRN_E_CORRUPT', `${o.objectKey}: SHA-256 does not match the manifest`);
        const packs = (t.packs as unknown[]).map((p) => {
          try {
            return checkPackId(String(p));
          } catch {
            throw new CairnError('CAIRN_E_FORMAT', `${o.objectKey}: trailer lists ${JSON.stringify(String(p).slice(0, 80))}, which is not a pack id`);
          }
        });
        return { entries: count, packs };
      }
      count++;
      yield decodeEntry(r.value, `${o.objectKey} line ${n}`);
    }
  }
  return { header, entries: entries() };
}

function parseJson(line: string, where: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(line);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new CairnError('CAIRN_E_FORMAT', `${where}: not a JSON object`);
}

async function* splitLines(chunks: AsyncGenerator<Buffer>, o: IndexReadOptions): AsyncGenerator<string> {
  // The start of the current line, in pieces: only new text is searched for a newline, so a long
  // line that arrives in many small frames costs linear time, not quadratic.
  let pending: string[] = [];
  let pendingLength = 0;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const decode = (c?: Buffer): string => {
    try {
      return c ? decoder.decode(c, { stream: true }) : decoder.decode();
    } catch {
      throw new CairnError('CAIRN_E_FORMAT', `${o.objectKey}: index is not UTF-8 text`);
    }
  };
  for await (const c of chunks) {
    const text = decode(c);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      if (pending.length === 0) {
        yield text.slice(start, nl);
      } else {
        pending.push(text.slice(start, nl));
        const line = pending.join('');
        pending = [];
        pendingLength = 0;
        yield line;
      }
      start = nl + 1;
    }
    if (start < text.length) {
      pending.push(text.slice(start));
      pendingLength += text.length - start;
    }
    if (pendingLength > o.limits.maxLineBytes) throw new CairnError('CAIRN_E_LIMIT_EXCEEDED', `${o.objectKey}: a line longer than ${o.limits.maxLineBytes} bytes`);
  }
  const tail = decode();
  if (pendingLength > 0 || tail.length > 0) yield pending.join('') + tail;
}
