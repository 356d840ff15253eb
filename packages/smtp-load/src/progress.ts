// The live progress line on stderr while a run goes (TTY only, not with -n or -j):
// "running [=====     ] 45% 4.5s 12345 msg/s". formatProgress is pure; the bar
// object only writes the line and clears it.

import type { RunSample } from './run.js';

export function formatProgress(fraction: number, elapsedMs: number, msgsLastSecond: number, width = 30): string {
  const f = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(f * width);
  return `running [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${Math.floor(f * 100)}% ${(elapsedMs / 1000).toFixed(1)}s ${msgsLastSecond} msg/s`;
}

export interface ProgressBar {
  update(sample: RunSample): void;
  clear(): void;
}

/** `total` is the duration in ms (-d) or the number of messages (-a). */
export function createProgressBar(stream: NodeJS.WriteStream, total: { durationMs: number } | { amount: number }): ProgressBar {
  let shown = false;
  return {
    update(sample) {
      const fraction = 'durationMs' in total ? sample.elapsedMs / total.durationMs : sample.totalReplies / total.amount;
      stream.write(`\r${formatProgress(fraction, sample.elapsedMs, sample.replies)}\x1b[K`);
      shown = true;
    },
    clear() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
