// Fixed-size buffers that spooled bytes are copied into on their way to the file, reused
// from one write to the next. A socket read is then let go the moment it is copied, young
// and cheap for the GC, and the next read lands in memory the CPU cache still holds;
// keeping each read until its write ended made the main thread's receive cost about 2.5x
// (bench/README.md, "Issue 13 targets"). Bounded: past `maxFree` a returned buffer is dropped.

export const STAGE_BYTES = 128 * 1024;

export interface StagingPool {
  take(): Buffer;
  give(stage: Buffer): void;
}

export function createStagingPool(maxFree = 64): StagingPool {
  const free: Buffer[] = [];
  return {
    // The most recently returned first: the likeliest to be in cache.
    take: () => free.pop() ?? Buffer.allocUnsafeSlow(STAGE_BYTES),
    give(stage) {
      if (free.length < maxFree) free.push(stage);
    },
  };
}
