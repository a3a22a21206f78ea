// Tuning of the data path. Defaults come from measurements on a 2-core machine against local
// MinIO (bench/RESULTS.md); every one can be overridden per job.
import { availableParallelism } from 'node:os';

export interface Tuning {
  /** Raw tar bytes per zstd frame: the unit of parallel compression and of ranged reads. */
  frameBytes: number;
  /** Raw tar bytes per pack before starting a new pack (rotated at entry boundaries). */
  packBytes: number;
  /** zstd level (1 = fastest). */
  level: number;
  /** Frames compressing or waiting to be written at once. */
  framesInFlight: number;
  /** Walk entries prepared (small files read) ahead of the tar writer. */
  readAhead: number;
  /** Files up to this size are read whole, ahead of time. */
  smallFileBytes: number;
  /** Read size for larger files. */
  readSliceBytes: number;
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
  packBytes: 256 << 20,
  level: 1,
  framesInFlight: Math.max(4, availableParallelism() * 3),
  readAhead: 64,
  smallFileBytes: 1 << 20,
  readSliceBytes: 1 << 20,
  indexPending: 20_000,
  // 8 MiB x 4 is on the measured plateau (docs/storage.md) with half the buffers of 16 MiB.
  partSize: 8 << 20,
  queueSize: 4,
  workers: Math.max(1, availableParallelism()),
  leaseMs: 48 * 3600_000,
};
