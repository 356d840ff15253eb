// Typed readers for option values (strings, booleans, whole numbers, durations, octal
// modes, lists). Each reports a precise error to the sink and returns undefined on a
// bad value, so the caller falls back and carries on collecting errors.

import type { ListNode, MapNode, OptionNode, ScalarNode, ValueNode } from './ast.js';
import { ConfigCode } from './codes.js';
import type { DiagnosticSink } from './diagnostics.js';
import { MAX_DURATION_SECONDS } from './defaults.js';

const BOOLEANS: ReadonlyMap<string, boolean> = new Map([
  ['true', true], ['yes', true], ['on', true],
  ['false', false], ['no', false], ['off', false],
]);

function shapeOf(v: ValueNode): string {
  if (v.kind === 'scalar') return `value ${JSON.stringify(v.text)}`;
  return v.kind === 'list' ? 'a list ( ... )' : 'a map [ ... ]';
}

function invalid(sink: DiagnosticSink, opt: OptionNode, at: ValueNode, message: string): undefined {
  sink.error(ConfigCode.INVALID_VALUE, at.position, `${opt.name}: ${message}`);
  return undefined;
}

/** C0 controls and DEL: never wanted in names, paths or reply lines. */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export function readScalar(opt: OptionNode, sink: DiagnosticSink): ScalarNode | undefined {
  if (opt.value.kind === 'scalar') return opt.value;
  return invalid(sink, opt, opt.value, `expected a single value, got ${shapeOf(opt.value)}`);
}

/** A string without control characters (they could forge log lines or replies). */
export function readText(opt: OptionNode, sink: DiagnosticSink): string | undefined {
  const s = readScalar(opt, sink);
  if (s === undefined) return undefined;
  if (s.text === '') return invalid(sink, opt, s, 'expected a value, got ""');
  if (hasControlCharacter(s.text)) return invalid(sink, opt, s, 'control characters are not allowed');
  return s.text;
}

export function readBoolean(opt: OptionNode, sink: DiagnosticSink): boolean | undefined {
  const s = readScalar(opt, sink);
  if (s === undefined) return undefined;
  const b = BOOLEANS.get(s.text.toLowerCase());
  if (b !== undefined) return b;
  return invalid(sink, opt, s, `expected true or false (or yes/no, on/off), got ${JSON.stringify(s.text)}`);
}

/** Decimal digits only ("007" is 7): no sign, no exponent, no suffix. */
export function parseWholeNumber(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

export interface NumberRule {
  /** Named in messages: "a whole number of seconds". */
  readonly unit?: 'seconds' | 'bytes';
  readonly min: number;
  readonly max?: number;
}

export function readInteger(opt: OptionNode, sink: DiagnosticSink, rule: NumberRule): number | undefined {
  const s = readScalar(opt, sink);
  if (s === undefined) return undefined;
  const n = parseWholeNumber(s.text);
  const of = rule.unit === undefined ? '' : ` of ${rule.unit}`;
  if (n === undefined) return invalid(sink, opt, s, `expected a whole number${of}, got ${JSON.stringify(s.text)}`);
  return checkRange(opt, sink, s, n, rule);
}

/** Whole seconds in the file -> ms; `fractional` also takes `0.1` (rounded to 1 ms). */
export function readSecondsAsMs(
  opt: OptionNode,
  sink: DiagnosticSink,
  rule: { readonly min: number; readonly fractional?: boolean },
): number | undefined {
  if (rule.fractional !== true) {
    const seconds = readInteger(opt, sink, { unit: 'seconds', min: rule.min, max: MAX_DURATION_SECONDS });
    return seconds === undefined ? undefined : seconds * 1000;
  }
  const s = readScalar(opt, sink);
  if (s === undefined) return undefined;
  if (!/^[0-9]+(\.[0-9]+)?$/.test(s.text)) {
    return invalid(sink, opt, s, `expected a number of seconds like 2 or 0.5, got ${JSON.stringify(s.text)}`);
  }
  const seconds = checkRange(opt, sink, s, Number(s.text), { unit: 'seconds', min: rule.min, max: MAX_DURATION_SECONDS });
  return seconds === undefined ? undefined : Math.round(seconds * 1000);
}

function checkRange(opt: OptionNode, sink: DiagnosticSink, s: ScalarNode, n: number, rule: NumberRule): number | undefined {
  const amount = (x: number): string =>
    rule.unit === undefined ? String(x) : `${x} ${x === 1 ? rule.unit.slice(0, -1) : rule.unit}`;
  if (n < rule.min) return invalid(sink, opt, s, `must be at least ${amount(rule.min)}, got ${s.text}`);
  if (rule.max !== undefined && n > rule.max) {
    return invalid(sink, opt, s, `must be at most ${amount(rule.max)}, got ${s.text}`);
  }
  return n;
}

/**
 * An octal creation mode like 0640 (pipe_io's output_mode), or a umask like 0027.
 * Permission bits only: a setuid or sticky bit on a mail log is always a mistake, and a
 * umask masks nothing else.
 */
export function readOctalMode(
  opt: OptionNode,
  sink: DiagnosticSink,
  kind: { readonly what: string; readonly example: string } = { what: 'file mode', example: '0640' },
): number | undefined {
  const s = readScalar(opt, sink);
  if (s === undefined) return undefined;
  const mode = /^[0-7]{1,4}$/.test(s.text) ? parseInt(s.text, 8) : undefined;
  if (mode === undefined || mode > 0o777) {
    return invalid(
      sink,
      opt,
      s,
      `expected an octal ${kind.what} from 0000 to 0777 like ${kind.example}, got ${JSON.stringify(s.text)}`,
    );
  }
  return mode;
}

/** `( "a" "b" )` or a lone scalar; nested lists and maps are errors. */
export function readScalarList(opt: OptionNode, sink: DiagnosticSink): ScalarNode[] | undefined {
  if (opt.value.kind === 'scalar') return [opt.value];
  if (opt.value.kind === 'map') return invalid(sink, opt, opt.value, 'expected a list ( "a" "b" ), got a map [ ... ]');
  const list: ListNode = opt.value;
  const out: ScalarNode[] = [];
  let ok = true;
  for (const item of list.items) {
    if (item.kind === 'scalar') {
      out.push(item);
    } else {
      invalid(sink, opt, item, `list items must be single values, got ${shapeOf(item)}`);
      ok = false;
    }
  }
  return ok ? out : undefined;
}

export function readMap(opt: OptionNode, sink: DiagnosticSink, example: string): MapNode | undefined {
  if (opt.value.kind === 'map') return opt.value;
  return invalid(sink, opt, opt.value, `expected a map like ${example}, got ${shapeOf(opt.value)}`);
}
