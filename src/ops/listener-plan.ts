// What a reload does to the Listens: pure, so the pairing rules are tested on their own
// (test/unit/listener-plan.test.ts). A running Listen is kept and reconfigured when the
// new file has one with the same address (src/config/listen-address.ts) and TLS mode
// (src/smtp/listener.ts, canReconfigure); the others are removed (drained) or added.

import { sameListenAddress } from '../config/listen-address.js';
import type { ListenerConfig } from '../config/types.js';

export interface ListenerPlan<L> {
  /** Running Listens that stay, each with its new config. */
  readonly kept: ReadonlyMap<L, ListenerConfig>;
  /** New Listens on addresses nothing runs on: bound before the swap, so a failure refuses the reload. */
  readonly added: readonly ListenerConfig[];
  /**
   * New Listens on an address an earlier reload took away (`released`): bound before the
   * swap like `added`, but a bind that finds the address in use is retried. The closed
   * socket can outlive its close() for a moment: a program being started holds a copy of
   * every descriptor from clone() until its execve() drops the close-on-exec ones.
   */
  readonly reclaimed: readonly ListenerConfig[];
  /** New Listens on the address of a removed one (Use_SSL changed): bound after it closed. */
  readonly rebound: readonly ListenerConfig[];
  /** Running Listens the new file no longer has. */
  readonly removed: readonly L[];
}

export function planListeners<L extends { readonly config: ListenerConfig }>(
  running: readonly L[],
  next: readonly ListenerConfig[],
  canReconfigure: (current: ListenerConfig, next: ListenerConfig) => boolean,
  released: (address: ListenerConfig) => boolean = () => false,
): ListenerPlan<L> {
  const kept = new Map<L, ListenerConfig>();
  const removed = [...running];
  const fresh: ListenerConfig[] = [];
  for (const listenerConfig of next) {
    const index = removed.findIndex((listener) => canReconfigure(listener.config, listenerConfig));
    const [match] = index === -1 ? [] : removed.splice(index, 1);
    if (match) kept.set(match, listenerConfig);
    else fresh.push(listenerConfig);
  }
  const sameAddress = (a: ListenerConfig) => removed.some((old) => sameListenAddress(old.config, a));
  // Port 0 asks the kernel for a new port: it cannot collide with the one let go of.
  const wasOurs = (a: ListenerConfig) => a.port !== 0 && released(a);
  return {
    kept,
    added: fresh.filter((a) => !sameAddress(a) && !wasOurs(a)),
    reclaimed: fresh.filter((a) => !sameAddress(a) && wasOurs(a)),
    rebound: fresh.filter(sameAddress),
    removed,
  };
}
