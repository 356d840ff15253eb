// Queue IDs: unique within a process by a counter, across processes and restarts
// by a per-process prefix of start time and randomness. No I/O after creation.

import { randomBytes } from 'node:crypto';

export type QueueIdGenerator = () => string;

export function createQueueIdGenerator(now: number = Date.now()): QueueIdGenerator {
  const prefix = now.toString(36).toUpperCase() + randomBytes(3).toString('hex').toUpperCase();
  let sequence = 0;
  return () => {
    sequence += 1;
    return prefix + sequence.toString(36).toUpperCase().padStart(5, '0');
  };
}
