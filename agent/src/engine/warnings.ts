// Per-file warnings of a backup or restore: counted, a few kept with their paths for the report.
export type WarningCode =
  | 'CAIRN_W_SPECIAL_FILE_SKIPPED'
  | 'CAIRN_W_OTHER_FILESYSTEM_SKIPPED'
  | 'CAIRN_W_FILE_CHANGED'
  | 'CAIRN_W_FILE_VANISHED'
  | 'CAIRN_W_UNREADABLE'
  | 'CAIRN_W_SETID_STRIPPED'
  | 'CAIRN_W_XATTR_SKIPPED';

export interface Warning {
  code: WarningCode;
  path: Buffer;
  message: string;
}

export class Warnings {
  readonly counts = new Map<WarningCode, number>();
  readonly samples: Warning[] = [];
  private readonly keep: number;
  private readonly listener: ((w: Warning) => void) | undefined;

  constructor(keep = 100, listener?: (w: Warning) => void) {
    this.keep = keep;
    this.listener = listener;
  }

  add(code: WarningCode, path: Buffer, message: string): void {
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1);
    const w = { code, path, message };
    if (this.samples.length < this.keep) this.samples.push(w);
    this.listener?.(w);
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  count(code: WarningCode): number {
    return this.counts.get(code) ?? 0;
  }
}
