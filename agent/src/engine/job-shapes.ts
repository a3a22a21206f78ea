// Fields every worker job (frame-job.ts, restore-job.ts) carries, in the forms that cross a
// thread boundary (typed arrays, no Buffers).

/** How a frame is sealed: the pack's key, its context, the frame's sequence number. */
export interface JobSeal {
  key: Uint8Array;
  context: string;
  seq: number;
}

/** The tree a job reads or writes: its absolute path, real path and device, to check descriptors against. */
export interface JobRoot {
  abs: Uint8Array;
  real: string;
  dev: bigint;
}
