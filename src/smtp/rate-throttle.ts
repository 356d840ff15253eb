// A rate limit per client address in bounded memory: one token bucket per address (GCRA,
// a single timestamp each) in a Map of fixed capacity that forgets the least recently
// seen address first. Pure: the clock is passed in; no timers, no I/O.
//
// Bounds, for a limit of N events per S seconds:
// - never refuses an address that sent at most N events in every S-second window
//   (its bucket is never empty then), as long as it is remembered;
// - admits at most N + N*t/S events from one remembered address over any t seconds
//   (a burst of N, then one every S/N seconds): at most 2N in one window of S;
// - memory: `capacity` entries whatever the number of addresses. An address is forgotten
//   only after `capacity` other addresses were seen since its last event; if that was
//   more than S seconds ago its bucket was full anyway and nothing is lost. Otherwise it
//   starts again with a full bucket: it may get up to N more events (fails open).

import type { ThrottleRate } from '../config/throttle-rate.js';

export type { ThrottleRate } from '../config/throttle-rate.js';

export interface RateThrottle {
  /** Counts one event for `key` and says whether it is within the rate; a refused event is not counted. */
  take(key: string, rate: ThrottleRate | null): boolean;
  /** Addresses remembered now (at most the capacity). */
  readonly size: number;
}

/** Entries per throttle: ~100 bytes each in V8, so about 6 MB at most per throttle. */
export const DEFAULT_THROTTLE_CAPACITY = 65_536;

export function createRateThrottle(now: () => number, capacity = DEFAULT_THROTTLE_CAPACITY): RateThrottle {
  /** key -> theoretical arrival time (ms) of the next event; insertion order = least recently seen first. */
  const arrivals = new Map<string, number>();
  return {
    get size() {
      return arrivals.size;
    },
    take(key, rate) {
      if (rate === null || rate.count <= 0) return true;
      const at = now();
      const windowMs = rate.seconds * 1000;
      const intervalMs = windowMs / rate.count;
      const last = arrivals.get(key);
      const next = Math.max(last ?? at, at) + intervalMs;
      // GCRA: the bucket holds N events; `next - at` is how much of the window is used.
      // The tolerance absorbs float error (3 events in 1 s: 3 * 333.33... ms).
      const allowed = next - at <= windowMs + 1e-6;
      // Seen now, refused or not: a client still knocking stays remembered.
      arrivals.delete(key);
      arrivals.set(key, allowed ? next : (last as number));
      if (arrivals.size > capacity) {
        const oldest = arrivals.keys().next().value;
        if (oldest !== undefined) arrivals.delete(oldest);
      }
      return allowed;
    },
  };
}
