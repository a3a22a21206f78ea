// Caps on what a restore (or an incremental backup) accepts from the bucket, which the tenant
// controls: no frame decompresses to more than it may, and no line is unbounded.
import type { FrameLimits } from '../../../common/src/format/zstd-frame.ts';

export const defaultReadLimits: FrameLimits & { maxLineBytes: number } = {
  // Writers cut frames of 4 MiB; accept up to 16 MiB so tuning can change without a format bump.
  maxFrameBytes: 16 << 20,
  // zstd reaches ~30000:1 on a frame of zeros; anything far beyond is not Cairn's writer.
  maxRatio: 100_000,
  maxLineBytes: 1 << 20,
};
