// Training progress: a live bar redrawn in place on a TTY, plain lines elsewhere
// (logs, CI), so a piped run stays readable.

export interface ProgressStats {
  epoch: number; epochs: number;
  batch: number; batches: number;
  loss: number; accuracy: number;
  imagesPerSecond: number;
  elapsedSeconds: number;
}

export interface ProgressReporter {
  update(s: ProgressStats): void;
  /** Ends the epoch's line with a summary (e.g. validation figures). */
  end(s: ProgressStats, summary: string): void;
}

const BAR_WIDTH = 24;

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - 60 * m)).padStart(2, '0')}s`;
}

function statsText(s: ProgressStats): string {
  return `loss ${s.loss.toFixed(4)}  acc ${(100 * s.accuracy).toFixed(2)}%  ${Math.round(s.imagesPerSecond).toLocaleString('en-US')} img/s`;
}

export class ProgressBar implements ProgressReporter {
  private lastDraw = 0;
  private lastPlain = -1;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout,
              private readonly live: boolean = Boolean(process.stdout.isTTY)) {}

  update(s: ProgressStats): void {
    if (this.live) {
      const now = Date.now();
      if (now - this.lastDraw < 100 && s.batch < s.batches) return;
      this.lastDraw = now;
      const frac = s.batches ? s.batch / s.batches : 1;
      const filled = Math.round(frac * BAR_WIDTH);
      const bar = '='.repeat(Math.max(0, filled - 1)) + (filled ? '>' : '') + ' '.repeat(BAR_WIDTH - filled);
      const eta = frac > 0 ? s.elapsedSeconds * (1 - frac) / frac : Infinity;
      this.out.write(`\r\x1b[2Kepoch ${s.epoch}/${s.epochs} [${bar}] ${String(Math.round(100 * frac)).padStart(3)}%  ${statsText(s)}  ETA ${formatSeconds(eta)}`);
    } else {
      // A plain line at each quarter of the epoch.
      const quarter = Math.floor((4 * s.batch) / Math.max(1, s.batches));
      if (quarter > this.lastPlain && quarter > 0 && quarter < 4) {
        this.lastPlain = quarter;
        this.out.write(`epoch ${s.epoch}/${s.epochs} batch ${s.batch}/${s.batches}  ${statsText(s)}\n`);
      }
    }
  }

  end(s: ProgressStats, summary: string): void {
    const line = `epoch ${s.epoch}/${s.epochs}  ${statsText(s)}  ${formatSeconds(s.elapsedSeconds)}${summary ? '  ' + summary : ''}`;
    this.out.write(this.live ? `\r\x1b[2K${line}\n` : `${line}\n`);
    this.lastPlain = -1;
  }
}

/** Reports nothing (for tests and library use without output). */
export class SilentProgress implements ProgressReporter {
  update(): void {}
  end(): void {}
}
