// Tuning of the data path. Defaults come from measurements on a 2-core machine against local
// MinIO (bench/RESULTS.md); every one can be overridden per job.
import { availableParallelism } from 'node:os';

export interface Tuning {
  /** Raw tar bytes per zstd frame: the unit of parallel compression and of ranged reads. */
  frameBytes: number;
  /**
   * Entries per frame at most. Tiny files would put thousands in one frame, and every entry of a
   * frame waits in memory (index entry, and on restore its task) until the frame is written;
   * smaller frames keep both workers busy with fewer entries waiting.
   */
  frameEntries: number;
  /** Raw tar bytes per pack before starting a new pack (rotated at entry boundaries). */
  packBytes: number;
  /** zstd level (1 = fastest). */
  level: number;
  /** Frames being built, compressed or waiting to be written at once. */
  framesInFlight: number;
  /** Files up to this size are read whole into one frame (when it fits in a frame); larger ones in frame-sized slices. */
  smallFileBytes: number;
  /** Index entries waiting for their frames before the walk pauses. */
  indexPending: number;
  partSize: number;
  queueSize: number;
  workers: number;
  /** How long the lease on a parent's packs lasts (longer than any backup runs). */
  leaseMs: number;
}

export const defaultTuning: Tuning = {
  frameBytes: 4 << 20,
  frameEntries: 2048,
  packBytes: 256 << 20,
  level: 1,
  framesInFlight: Math.max(4, availableParallelism() * 3),
  smallFileBytes: 1 << 20,
  // With frameEntries, about four frames of tiny files: both workers stay busy, and the entries
  // waiting (the largest part of the peak memory of a backup of tiny files) stay few.
  indexPending: 8192,
  // 8 MiB x 4 is on the measured plateau (docs/storage.md) with half the buffers of 16 MiB.
  partSize: 8 << 20,
  queueSize: 4,
  workers: Math.max(1, availableParallelism()),
  leaseMs: 48 * 3600_000,
};
