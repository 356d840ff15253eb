// FIFOs for tests of code that must refuse them without blocking. Should the code under
// test block on one after all, withinMs fails the test and lets a writer come and go, so
// the stuck read ends (EOF) and the test process can still exit.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';

/** mkfifo(1) at `file`; returns `file`. */
export function makeFifo(file: string): string {
  execFileSync('mkfifo', [file]);
  return file;
}

/** Opens and closes the write end: a reader blocked in open() or read() gets EOF. */
export function releaseFifo(file: string): void {
  try {
    closeSync(openSync(file, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch (error) {
    // ENXIO: nobody has it open for reading, so nothing is stuck on it.
    if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
  }
}

/** `work`, or a rejection naming `what` after `ms`; then every FIFO is released. */
export async function withinMs<T>(work: Promise<T>, ms: number, what: string, fifos: readonly string[]): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      for (const fifo of fifos) releaseFifo(fifo);
      reject(new Error(`${what} did not finish within ${ms} ms (blocked on a FIFO?)`));
    }, ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
