// The one pino logger of the process: JSON lines on stdout, created at start-up and
// passed down. Writes are asynchronous and batched (below); flush() empties both the
// batch and the buffer before exit. Formats lines and nothing else: where stdout goes (a
// file, the journal) is the operator's.

import { pino, type DestinationStream, type Level, type Logger, type LevelWithSilent } from 'pino';

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** json: one JSON object a line. journal: the same line after an sd-daemon(3) priority prefix. */
export const LOG_FORMATS = ['json', 'journal'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * sd-daemon(3) / syslog(3) priorities: journald (SyslogLevelPrefix=yes, its default) strips
 * "<N>" and stores the line at priority N, so `journalctl -p err` finds errors.
 */
const JOURNAL_PRIORITIES: ReadonlyArray<readonly [Level, number]> = [
  ['trace', 7],
  ['debug', 7],
  ['info', 6],
  ['warn', 4],
  ['error', 3],
  ['fatal', 2],
];

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

export function createLogger(level: LevelWithSilent, fd = 1, format: LogFormat = 'json'): ProcessLogger {
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
  const batched: DestinationStream = {
    write(line: string) {
      batch += line;
      if (batch.length >= LOG_BATCH_BYTES) handOver();
      else timer ??= setTimeout(handOver, LOG_BATCH_MS);
    },
  };
  const options = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  // pino knows each line's level when it writes it: one stream per level, each adding its
  // prefix, so no line is parsed again. The json format writes to the batch itself.
  const logger = format === 'json' ? pino(options, batched) : pino(options, journalStreams(batched));
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

function journalStreams(destination: DestinationStream) {
  const streams = JOURNAL_PRIORITIES.map(([streamLevel, priority]) => {
    const prefix = `<${priority}>`;
    return { level: streamLevel, stream: { write: (line: string) => destination.write(prefix + line) } };
  });
  // dedupe: a line goes only to the stream of the highest level it reaches, its own.
  return pino.multistream(streams, { dedupe: true });
}
