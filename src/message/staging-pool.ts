// Fixed-size buffers that spooled bytes are copied into on their way to the file, reused
// from one write to the next. A socket read is then let go the moment it is copied, young
// and cheap for the GC, and the next read lands in memory the CPU cache still holds;
// keeping each read until its write ended cost the main thread about 30% more per 10 MB
// message. Counts the bytes lent out, so that sinks can share one allowance for queueing
// more than their minimum (message-sink.ts). Keeps at most `maxFree` returned buffers.

export const STAGE_BYTES = 128 * 1024;

export interface StagingPool {
  take(): Buffer;
  give(stage: Buffer): void;
  /** Stage bytes taken and not given back, all sinks together. */
  readonly lentBytes: number;
}

export function createStagingPool(maxFree = 64): StagingPool {
  const free: Buffer[] = [];
  let lent = 0;
  return {
    get lentBytes() {
      return lent * STAGE_BYTES;
    },
    take() {
      lent += 1;
      // The most recently returned first: the likeliest to be in cache.
      return free.pop() ?? Buffer.allocUnsafeSlow(STAGE_BYTES);
    },
    give(stage) {
      lent -= 1;
      if (free.length < maxFree) free.push(stage);
    },
  };
}
