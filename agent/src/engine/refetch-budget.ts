// A cap on the work a restore spends on frames it has already fetched. A restore keeps only a few
// frames open, so an index (the tenant writes it) whose entries cycle through more frames than
// that makes the restore fetch and decompress the same frames again and again: up to a 16 MiB
// frame per entry, for 50 million entries, from a bucket holding a few frames. Cairn's own
// indexes fetch a frame again only now and then (a large file's pieces planned in order, a file
// deferred during its backup): each pack's frames are needed in the order they were written. So a
// fetch of a frame at or before the furthest one of its pack fetched so far counts as a fetch
// again, and the decompressed bytes fetched again may not pass the bytes fetched the first time
// plus a slack. The restore's work is then bounded by the distinct frames its bucket holds, not
// by its entry count.
import { CairnError } from '../../../common/src/errors.ts';
import { shownPath } from '../../../common/src/format/shown-path.ts';
import type { FrameDesc } from './frame-fetcher.ts';

/** Decompressed bytes a restore may fetch again beyond those it fetched first. */
export const REFETCH_SLACK_BYTES = 256 << 20;

export class RefetchBudget {
  /** Per pack: the offset of the furthest frame fetched. */
  private readonly furthest = new Map<string, number>();
  private firstBytes = 0;
  private againBytes = 0;
  private readonly slack: number;

  constructor(slackBytes = REFETCH_SLACK_BYTES) {
    this.slack = slackBytes;
  }

  /** Whether fetching `d` now is a first fetch (it lies past every frame of its pack fetched so far). */
  first(d: FrameDesc): boolean {
    const f = this.furthest.get(d.pack);
    if (f !== undefined && d.offset <= f) return false;
    this.furthest.set(d.pack, d.offset);
    return true;
  }

  /**
   * Counts a fetched frame's decompressed bytes; throws CAIRN_E_LIMIT_EXCEEDED, naming `entry`
   * (the first entry waiting for the frame), when the bytes fetched again pass the cap.
   */
  count(first: boolean, bytes: number, entry: Buffer | undefined): void {
    if (first) {
      this.firstBytes += bytes;
      return;
    }
    this.againBytes += bytes;
    if (this.againBytes > this.firstBytes + this.slack) {
      const mib = (n: number): string => (n / 2 ** 20).toFixed(0);
      throw new CairnError('CAIRN_E_LIMIT_EXCEEDED',
        `${entry ? `entry ${shownPath(entry)}: ` : ''}the index makes the restore fetch the same frames again and again ` +
        `(${mib(this.againBytes)} MiB decompressed again for ${mib(this.firstBytes)} MiB of frames fetched once; ` +
        `at most ${mib(this.slack)} MiB more is allowed); an index written by Cairn does not do this`);
    }
  }

  /** Decompressed bytes fetched the first time and fetched again. */
  get totals(): { first: number; again: number } {
    return { first: this.firstBytes, again: this.againBytes };
  }
}
