// Max_Memory_In_Flight: how many bytes of message content the daemon may hold in memory,
// all sessions together, from the first byte received to the end of the delivery. A
// message that would pass it goes to a spool file instead (message-sink.ts). Counting only.

export interface MemoryBudget {
  /** Takes `bytes` if they fit under the limit; false leaves the count unchanged. */
  tryReserve(bytes: number): boolean;
  release(bytes: number): void;
  /** Bytes held now. */
  readonly held: number;
  /** A reload may change the limit; what is held stays held. */
  limit: number;
}

export function createMemoryBudget(limit: number): MemoryBudget {
  let held = 0;
  return {
    limit,
    get held() {
      return held;
    },
    tryReserve(bytes) {
      if (held + bytes > this.limit) return false;
      held += bytes;
      return true;
    },
    release(bytes) {
      held -= bytes;
      if (held < 0) throw Object.assign(new Error(`bug: memory budget released ${-held} bytes more than it held`), { code: 'ERR_MEMORY_BUDGET' });
    },
  };
}
