// A seeded, deterministic byte source: the AES-128-CTR keystream under a key derived from a
// seed string. It runs at memory speed (AES-NI), so it serves both as the "random" file content
// and as the source of the generator's decisions (sizes, word choices). Not for cryptography.
import { createCipheriv, createHash, type Cipheriv } from 'node:crypto';

const MAX_POOL = 64 * 1024;

export class Prng {
  readonly #cipher: Cipheriv;
  #pool: Buffer = Buffer.alloc(0);
  #pos = 0;
  /** Grows from small, so a Prng per tiny file costs little. */
  #poolSize = 64;

  constructor(seed: string) {
    const digest = createHash('sha256').update(seed).digest();
    this.#cipher = createCipheriv('aes-128-ctr', digest.subarray(0, 16), digest.subarray(16, 32));
  }

  /** The next `n` keystream bytes, in a new Buffer. */
  bytes(n: number): Buffer {
    return this.#cipher.update(Buffer.alloc(n));
  }

  /** Fills `out` with the next keystream bytes. */
  fill(out: Buffer): void {
    out.fill(0);
    const enc = this.#cipher.update(out);
    enc.copy(out);
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    if (this.#pos + 4 > this.#pool.length) {
      this.#pool = this.bytes(this.#poolSize);
      this.#poolSize = Math.min(MAX_POOL, this.#poolSize * 4);
      this.#pos = 0;
    }
    const v = this.#pool.readUInt32LE(this.#pos);
    this.#pos += 4;
    return v;
  }

  /** A uniform integer in [min, max], both included (max - min < 2^32). */
  int(min: number, max: number): number {
    return min + (this.uint32() % (max - min + 1));
  }
}
