// What the primary and its front ends say to each other over the cluster IPC channel
// (Processes > 1): plain data, one `smtpipe` tag per kind, and the guards that read them.
// Other messages on the channel (Node's own, prom-client's) are not ours and are ignored.

import type { MetricObjectWithValues, MetricValue } from 'prom-client';

/** Environment of a forked front end: which slot it fills and how many share the limits. */
export const FRONT_END_INDEX_ENV = 'SMTPIPE_FRONT_END';
export const FRONT_END_COUNT_ENV = 'SMTPIPE_PROCESSES';

/** Primary -> front end. `stop` drains as a first SIGTERM does; `force` is the second. */
export type ToFrontEnd =
  | { readonly smtpipe: 'reload'; readonly id: number }
  | { readonly smtpipe: 'status'; readonly id: number }
  | { readonly smtpipe: 'stop' }
  | { readonly smtpipe: 'force' };

/** Front end -> primary. */
export type FromFrontEnd =
  | { readonly smtpipe: 'listening'; readonly listeners: readonly string[] }
  | { readonly smtpipe: 'reloaded'; readonly id: number; readonly ok: boolean; readonly reason: string | null }
  | {
      readonly smtpipe: 'status';
      readonly id: number;
      readonly ready: boolean;
      readonly metrics: ReadonlyArray<MetricObjectWithValues<MetricValue<string>>>;
    };

const TO_FRONT_END = new Set(['reload', 'status', 'stop', 'force']);
const FROM_FRONT_END = new Set(['listening', 'reloaded', 'status']);

function tagOf(message: unknown): unknown {
  return typeof message === 'object' && message !== null ? (message as { smtpipe?: unknown }).smtpipe : undefined;
}

export function isToFrontEnd(message: unknown): message is ToFrontEnd {
  return TO_FRONT_END.has(tagOf(message) as string);
}

export function isFromFrontEnd(message: unknown): message is FromFrontEnd {
  return FROM_FRONT_END.has(tagOf(message) as string);
}
