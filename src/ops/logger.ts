// The one pino logger of the process: JSON lines on stdout, created at start-up and
// passed down. Writes are asynchronous and batched (below); flush() empties both the
// batch and the buffer before exit.

import { pino, type Logger, type LevelWithSilent } from 'pino';

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Lines are gathered for up to LOG_BATCH_MS (or LOG_BATCH_BYTES) and handed to the
 * destination together. Each asynchronous write costs the main thread a thread-pool round
 * trip, about 50 us here, ten times the cost of building the line: with one write per
 * delivery line it was the largest part of the daemon's own work per message
 * (docs/design.md, "Main-thread cost per message"). A line reaches stdout at most this
 * much later.
 */
const LOG_BATCH_MS = 10;
const LOG_BATCH_BYTES = 64 * 1024;

export interface ProcessLogger {
  readonly logger: Logger;
  /** Synchronously writes whatever is still buffered (call before exit). */
  flush(): void;
}

export function createLogger(level: LevelWithSilent, fd = 1): ProcessLogger {
  const destination = pino.destination({ dest: fd, sync: false });
  let batch = '';
  let timer: NodeJS.Timeout | null = null;
  const handOver = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (batch === '') return;
    const lines = batch;
    batch = '';
    destination.write(lines);
  };
  const stream = {
    write(line: string) {
      batch += line;
      if (batch.length >= LOG_BATCH_BYTES) handOver();
      else timer ??= setTimeout(handOver, LOG_BATCH_MS);
    },
  };
  const logger = pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
  return {
    logger,
    flush() {
      try {
        handOver();
        destination.flushSync();
      } catch {
        // Nothing written yet (sonic-boom not ready) or stdout is gone: nothing to save.
      }
    },
  };
}
