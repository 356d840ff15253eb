// What a connection slot and its run promise each other: the slot's fixed settings,
// the run's message budget (claim / isOver / finished), and the slot's three verbs.
// Types only.

import type { EnvelopeCommands } from './envelope.js';
import type { RunStats } from './stats.js';

export interface ConnectionConfig {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  /** Messages per socket before QUIT and a new socket; 0 = unlimited. */
  readonly perConnection: number;
  /** Use RFC 2920 pipelining when the server advertises it. */
  readonly pipelining: boolean;
  /** A rate is set: latency also counts the delay between intended and actual start. */
  readonly rateCorrection: boolean;
  readonly commands: EnvelopeCommands;
  /** The dot-stuffed message with its final ".\r\n", shared by every connection. */
  readonly wire: Buffer;
  readonly stats: RunStats;
}

/** What a connection asks of its run. */
export interface ConnectionHost {
  /** Takes the next message: its intended start (performance.now() ms), NaN when none remain. */
  claim(): number;
  /** Whether claim() would now return NaN (no message taken). */
  isOver(): boolean;
  /** Called once, when this slot has stopped for good. */
  finished(): void;
}

export interface Connection {
  start(): void;
  /** Fails the awaited reply if its deadline has passed (called by the run's sweeper). */
  checkTimeout(now: number): void;
  /** Stops at once: socket destroyed, message in flight abandoned. */
  abort(): void;
}
