// Independent zstd frames: compressed with the content size and a content checksum in the frame
// header, so a reader can refuse a frame that would decompress to more than it allows before
// allocating anything, and a flipped byte fails the frame's checksum.
import { createRequire } from 'node:module';
import { CairnError } from '../errors.ts';

interface ZstdBinding {
  getFrameContentSize(frame: Uint8Array): number | null;
  findFrameCompressedSize(frame: Uint8Array): number;
  decompress(dst: Uint8Array, src: Uint8Array): number;
}
interface ZstdCompressor {
  setParameters(p: { compressionLevel: number; checksumFlag: boolean; contentSizeFlag: boolean }): void;
  compress(data: Uint8Array): Buffer;
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

export interface FrameLimits {
  /** Largest decompressed size accepted for one frame. */
  maxFrameBytes: number;
  /** Largest ratio of decompressed to compressed size accepted. */
  maxRatio: number;
}

/** Decompresses exactly one frame; `where` names the object in errors. */
export function decompressFrame(frame: Uint8Array, limits: FrameLimits, where: string): Buffer {
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
  const out = Buffer.allocUnsafe(contentSize);
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
