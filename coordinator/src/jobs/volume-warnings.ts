// The warnings an agent reports for one volume's job (a file that changed while it was read, a
// setuid bit stripped, an attribute the target cannot hold): the first ones are logged with their
// path for the admin, and the first is kept for the volume's status line, so the tenant sees
// which file it concerns and not only how many there were.
import type { Logger } from '../../../common/src/logger.ts';
import { shownPath } from '../../../common/src/format/shown-path.ts';

export interface JobWarning {
  code: string;
  message: string;
  path: Buffer;
}

export class VolumeWarnings {
  private readonly log: Logger;
  private readonly maxLogged: number;
  private logged = 0;
  private first: string | undefined;

  constructor(log: Logger, maxLogged = 20) {
    this.log = log;
    this.maxLogged = maxLogged;
  }

  readonly onWarning = (w: JobWarning): void => {
    const path = shownPath(w.path);
    this.first ??= `${w.code} on ${path}: ${w.message.slice(0, 300)}`;
    if (this.logged++ < this.maxLogged) this.log.info({ code: w.code, path }, w.message.slice(0, 300));
  };

  /** The end of a status line: ", N warnings (first: ...)" or nothing. */
  summary(count: number): string {
    if (!count) return '';
    const n = `${count} warning${count === 1 ? '' : 's'}`;
    return this.first ? `, ${n} (first: ${this.first})` : `, ${n}`;
  }
}
