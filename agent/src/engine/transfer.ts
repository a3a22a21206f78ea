// What moves between the engine's threads without a copy. A typed array that owns its whole
// ArrayBuffer is transferred: the receiving thread takes over the memory, and the sender's view is
// detached. A view into a larger or shared buffer (a Buffer cut from Node's pool) cannot be, and
// is copied by the structured clone instead.
//
// Transferring, rather than cloning, matters for memory as much as for time: a cloned result
// leaves its original as garbage in the thread that made it, and each thread (each V8 isolate)
// collects its garbage on its own schedule, so a few megabytes per frame in two workers added up
// to tens of MiB of resident memory on a backup of a million tiny files (bench/RESULTS.md).

/** The distinct ArrayBuffers that `views` own whole, for a transfer list. */
export function ownedBuffers(views: Iterable<ArrayBufferView>): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const v of views) {
    if (v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.byteLength > 0) out.add(v.buffer);
  }
  return [...out];
}
