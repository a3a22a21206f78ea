// Independent zstd frames: compressed with the content size and a content checksum in the frame
// header, so a reader can refuse a frame that would decompress to more than it allows before
// allocating anything, and a flipped byte fails the frame's checksum.
import { createRequire } from 'node:module';
import { CairnError } from '../errors.ts';

interface ZstdBinding {
  getFrameContentSize(frame: Uint8Array): number | null;
  findFrameCompressedSize(frame: Uint8Array): number;
  decompress(dst: Uint8Array, src: Uint8Array): number;
  compressBound(size: number): number;
}
interface ZstdCompressor {
  setParameters(p: { compressionLevel: number; checksumFlag: boolean; contentSizeFlag: boolean }): void;
  compress(data: Uint8Array): Buffer;
  /** The compression context (zstd-napi keeps it as a public field). */
  cctx: { compress2(dst: Uint8Array, src: Uint8Array): number };
}

const require = createRequire(import.meta.url);
const binding = require('zstd-napi/binding') as ZstdBinding;
const { Compressor } = require('zstd-napi') as { Compressor: new () => ZstdCompressor };

let compressor: ZstdCompressor | undefined;
let compressorLevel = NaN;

export function compressFrame(data: Uint8Array, level: number): Buffer {
  if (!compressor || compressorLevel !== level) {
    compressor = new Compressor();
    compressor.setParameters({ compressionLevel: level, checksumFlag: true, contentSizeFlag: true });
    compressorLevel = level;
  }
  return compressor.compress(data);
}

/**
 * Compresses frames into a buffer the caller owns (a worker reuses one output buffer instead of
 * allocating one per frame). The frames are byte-identical to `compressFrame`'s.
 */
export class FrameCompressor {
  private readonly c: ZstdCompressor;

  constructor(level: number) {
    this.c = new Compressor();
    this.c.setParameters({ compressionLevel: level, checksumFlag: true, contentSizeFlag: true });
  }

  /** Room the output of `size` input bytes may need. */
  static bound(size: number): number {
    return binding.compressBound(size);
  }

  /** Compresses `src` into `dst` (at least `bound(src.length)` bytes); returns the frame's length. */
  compressInto(dst: Uint8Array, src: Uint8Array): number {
    return this.c.cctx.compress2(dst, src);
  }
}

export interface FrameLimits {
  /** Largest decompressed size accepted for one frame. */
  maxFrameBytes: number;
  /** Largest ratio of decompressed to compressed size accepted. */
  maxRatio: number;
}

/** The content size a frame declares, or undefined when it declares none or is not a frame. */
export function declaredContentSize(frame: Uint8Array): number | undefined {
  try {
    return binding.getFrameContentSize(frame) ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * Decompresses exactly one frame; `where` names the object in errors. `into`, when given, is
 * asked for room of the declared size (after the limits are checked) and the result is a view of it.
 */
export function decompressFrame(frame: Uint8Array, limits: FrameLimits, where: string, into?: (size: number) => Uint8Array): Buffer {
  let compressedSize: number;
  let contentSize: number | null;
  try {
    compressedSize = binding.findFrameCompressedSize(frame);
    contentSize = binding.getFrameContentSize(frame);
  } catch {
    throw new CairnError('CAIRN_E_CORRUPT', `${where}: not a valid zstd frame`);
  }
  if (compressedSize !== frame.length) throw new CairnError('CAIRN_E_CORRUPT', `${where}: frame length ${frame.length} does not match its header (${compressedSize})`);
  if (contentSize === null) throw new CairnError('CAIRN_E_FORMAT', `${where}: frame does not declare its content size`);
  if (contentSize > limits.maxFrameBytes) {
    throw new CairnError('CAIRN_E_LIMIT_EXCEEDED', `${where}: frame would decompress to ${contentSize} bytes, over the ${limits.maxFrameBytes}-byte frame cap`);
  }
  if (contentSize > frame.length * limits.maxRatio) {
    throw new CairnError('CAIRN_E_LIMIT_EXCEEDED', `${where}: frame compression ratio ${Math.round(contentSize / frame.length)}:1 is over the ${limits.maxRatio}:1 cap`);
  }
  const room = into?.(contentSize);
  const out = room ? Buffer.from(room.buffer, room.byteOffset, contentSize) : Buffer.allocUnsafe(contentSize);
  let written: number;
  try {
    written = binding.decompress(out, frame);
  } catch {
    throw new CairnError('CAIRN_E_CORRUPT', `${where}: frame failed to decompress or its checksum did not match`);
  }
  if (written !== contentSize) throw new CairnError('CAIRN_E_CORRUPT', `${where}: frame decompressed to ${written} bytes, not the declared ${contentSize}`);
  return out;
}

/** Splits a concatenation of zstd frames into the frames. */
export function* splitFrames(buf: Buffer, where: string): Generator<Buffer> {
  let pos = 0;
  while (pos < buf.length) {
    let size: number;
    try {
      size = binding.findFrameCompressedSize(buf.subarray(pos));
    } catch {
      throw new CairnError('CAIRN_E_CORRUPT', `${where}: bad zstd frame at byte ${pos}`);
    }
    yield buf.subarray(pos, pos + size);
    pos += size;
  }
}
