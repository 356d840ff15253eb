// The one pino logger of the process: JSON lines on stdout, created at start-up and
// passed down. Writes are asynchronous; flush() empties the buffer before exit.

import { pino, type Logger, type LevelWithSilent } from 'pino';

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface ProcessLogger {
  readonly logger: Logger;
  /** Synchronously writes whatever is still buffered (call before exit). */
  flush(): void;
}

export function createLogger(level: LevelWithSilent, fd = 1): ProcessLogger {
  const destination = pino.destination({ dest: fd, sync: false });
  const logger = pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  return {
    logger,
    flush() {
      try {
        destination.flushSync();
      } catch {
        // Nothing written yet (sonic-boom not ready) or stdout is gone: nothing to save.
      }
    },
  };
}
