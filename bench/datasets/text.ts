// Text-like content: words drawn with a Zipf distribution from a fixed vocabulary of 4096
// pseudo-words, with spaces, commas, full stops and line breaks. It compresses roughly like
// prose or logs (zstd -1 gets about 2-3x), unlike random bytes or runs of one letter.
import { Prng } from './prng.ts';

const WORDS = 4096;
const SYLLABLES = ['ka', 'ri', 'to', 'ne', 'sa', 'lu', 'me', 'po', 'di', 'an', 'er', 'in', 'on', 'st', 'th', 'qu', 'ba', 'ce', 'fo', 'gi', 'ha', 'je', 'ol', 'ur', 'ver', 'tion', 'ing', 'ed', 'ly', 'ment'];
const SEPARATORS = [' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ', ', ', ', '. ', '\n'];

interface Vocabulary {
  bytes: Uint8Array;
  start: Uint32Array;
  end: Uint32Array;
  /** Maps a uniform 16-bit number to a word, so that word i is drawn with weight 1/(i+1). */
  zipf: Uint16Array;
}

let cached: Vocabulary | undefined;

function vocabulary(): Vocabulary {
  if (cached) return cached;
  const prng = new Prng('cairn-bench/vocabulary/v1');
  const parts: Buffer[] = [];
  const start = new Uint32Array(WORDS);
  const end = new Uint32Array(WORDS);
  let at = 0;
  for (let i = 0; i < WORDS; i++) {
    let word = '';
    const syllables = prng.int(1, 4);
    for (let s = 0; s < syllables; s++) word += SYLLABLES[prng.int(0, SYLLABLES.length - 1)];
    if (prng.int(0, 15) === 0) word = word[0]!.toUpperCase() + word.slice(1);
    const entry = Buffer.from(word + SEPARATORS[prng.int(0, SEPARATORS.length - 1)], 'latin1');
    parts.push(entry);
    start[i] = at;
    at += entry.length;
    end[i] = at;
  }
  let harmonic = 0;
  for (let i = 0; i < WORDS; i++) harmonic += 1 / (i + 1);
  const zipf = new Uint16Array(65536);
  let cumulative = 0;
  let slot = 0;
  for (let i = 0; i < WORDS && slot < zipf.length; i++) {
    cumulative += 1 / (i + 1) / harmonic;
    const until = i === WORDS - 1 ? zipf.length : Math.min(zipf.length, Math.round(cumulative * zipf.length));
    for (; slot < until; slot++) zipf[slot] = i;
  }
  cached = { bytes: Buffer.concat(parts), start, end, zipf };
  return cached;
}

/** Streams text-like bytes drawn from `prng`. */
export class TextSource {
  readonly #prng: Prng;
  readonly #vocab = vocabulary();
  #draws = new Uint16Array(0);
  #next = 0;

  constructor(prng: Prng) {
    this.#prng = prng;
  }

  /** Fills `out` completely; a word cut at the end is simply cut. */
  fill(out: Uint8Array): void {
    const { bytes, start, end, zipf } = this.#vocab;
    if (this.#draws.length === 0) {
      // Entries are at least 3 bytes; sized to the first request so tiny files stay cheap.
      this.#draws = new Uint16Array(Math.min(32 * 1024, (out.length >> 2) + 16));
      this.#next = this.#draws.length;
    }
    const draws = this.#draws;
    let pos = 0;
    while (pos < out.length) {
      if (this.#next === draws.length) {
        this.#prng.fill(Buffer.from(draws.buffer, draws.byteOffset, draws.byteLength));
        this.#next = 0;
      }
      const w = zipf[draws[this.#next++]!]!;
      const e = end[w]!;
      for (let i = start[w]!; i < e && pos < out.length; i++) out[pos++] = bytes[i]!;
    }
  }
}
