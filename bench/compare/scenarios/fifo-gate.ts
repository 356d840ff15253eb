// The gate the held-message scenarios keep their programs behind: each program blocks
// opening a FIFO for reading; open() lets them all through at once, close() ends it.

import { closeSync, constants as fsConstants, openSync } from 'node:fs';

export interface FifoGate {
  /** Lets every program blocked on the FIFO go on; idempotent. */
  open(): void;
  close(): void;
}

export function createFifoGate(fifo: string): FifoGate {
  let writer: number | null = null;
  return {
    // A writer on the FIFO (O_RDWR: never blocks on Linux) releases every reader.
    open() {
      writer ??= openSync(fifo, fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
    },
    close() {
      if (writer !== null) closeSync(writer);
      writer = null;
    },
  };
}
