// Momentum's throttle values, "count" or "count/seconds": the reader and printer of
// Inbound_Throttle_Connections and Inbound_Throttle_Messages. Pure.
//
// Momentum 4 (inbound_throttle_messages, outbound_throttle_connections): "a single
// integer" is that many per second; "a proper fraction" is the numerator over a window
// of the denominator's seconds; unset or 0 is no limit.

import type { OptionNode } from './ast.js';
import { ConfigCode } from './codes.js';
import type { DiagnosticSink } from './diagnostics.js';
import { readText } from './values.js';

/** A rate limit: `count` events per `seconds` (src/smtp/rate-throttle.ts counts them). */
export interface ThrottleRate {
  /** Events allowed per window, at least 1 (0 in the file reads as null: no limit). */
  readonly count: number;
  readonly seconds: number;
}

const RATE = /^\s*([0-9]{1,9})\s*(?:\/\s*([0-9]{1,9})\s*)?$/;

/** null: no limit ("0"), which also turns off a limit an outer scope set. */
export function readThrottleRate(opt: OptionNode, sink: DiagnosticSink): ThrottleRate | null | undefined {
  const text = readText(opt, sink);
  if (text === undefined) return undefined;
  const match = RATE.exec(text);
  const count = Number(match?.[1]);
  const seconds = match?.[2] === undefined ? 1 : Number(match[2]);
  if (!match || seconds < 1) {
    sink.error(ConfigCode.INVALID_VALUE, opt.value.position, `${opt.name}: expected "count/seconds" such as "20/60" (or "count", per second), got ${JSON.stringify(text)}`);
    return undefined;
  }
  return count === 0 ? null : { count, seconds };
}

export function printThrottleRate(rate: ThrottleRate | null): string | null {
  return rate === null ? null : `"${rate.count}/${rate.seconds}"`;
}
