// What an option table is: one row per option (name, type, unit, default, doc line,
// reader, printer), and the few generic steps every scope runs over its table: read what
// was written, fill in defaults, print a value back. Knows no option; pure.

import type { OptionNode } from './ast.js';
import { createDiagnosticSink, type DiagnosticSink } from './diagnostics.js';
import { deepFreeze } from './freeze.js';
import { parseConfigSource } from './parser.js';
import { readInteger, readSecondsAsMs, readBoolean } from './values.js';

export interface OptionSpec<V, R> {
  /** The documented spelling; the file may use any case. */
  readonly name: string;
  /** What the value is, for the docs: "whole number", "seconds", "path", ... */
  readonly type: string;
  readonly unit?: 'bytes' | 'seconds';
  /**
   * The default as the file would write it, read by `read` when the option is absent, so
   * the docs, the printed config and config/smtpipe.conf state what the schema does.
   * Absent: no default value (the field is null) or one the schema computes (defaultDoc).
   */
  readonly default?: string;
  /** The default in words when it is no fixed value: "the host name", "required". */
  readonly defaultDoc?: string;
  /** One line for docs/configuration.md. */
  readonly doc: string;
  /** Reports a bad value to the sink and returns undefined. */
  readonly read: (opt: OptionNode, sink: DiagnosticSink) => V | undefined;
  /** The value as the file writes it, from the resolved scope; null: not set. */
  readonly print: (resolved: R) => string | null;
}

/** One row per field of W (what a scope can say); a field without a row fails to compile. */
export type OptionTable<W, R> = { readonly [K in keyof W]-?: OptionSpec<W[K], R> };

/** Every field present: the written value, the default, or null where there is none. */
export type Resolved<W> = { readonly [K in keyof W]-?: W[K] };

/** A scope's table with its defaults read once, when the table is defined. */
export interface OptionScope<W, R> {
  readonly rows: OptionTable<W, R>;
  /** Documented spellings, in table order. */
  readonly names: readonly string[];
  readonly defaults: Resolved<W>;
}

export function defineOptions<W, R>(rows: OptionTable<W, R>): OptionScope<W, R> {
  const defaults: Partial<W> = {};
  for (const [field, spec] of fields(rows)) {
    defaults[field] = (spec.default === undefined ? null : readDefault(spec)) as W[keyof W];
  }
  // Frozen now: one default value (a list, a map) is shared by every config that uses it.
  return { rows, names: fields(rows).map(([, spec]) => spec.name), defaults: deepFreeze(defaults as Resolved<W>) };
}

export function fields<W, R>(rows: OptionTable<W, R>): Array<[keyof W, OptionSpec<unknown, R>]> {
  return Object.entries(rows) as Array<[keyof W, OptionSpec<unknown, R>]>;
}

/** The options of one scope, keyed by lower-cased name (scope-options.ts), read by the table. */
export function readOptions<W, R>(
  options: ReadonlyMap<string, OptionNode>,
  scope: OptionScope<W, R>,
  sink: DiagnosticSink,
): Partial<W> {
  const out: Partial<W> = {};
  for (const [field, spec] of fields(scope.rows)) {
    const opt = options.get(spec.name.toLowerCase());
    if (opt !== undefined) out[field] = spec.read(opt, sink) as W[keyof W];
  }
  return out;
}

/** Each field from the first layer that sets it (innermost scope first), else its default. */
export function resolveOptions<W, R>(scope: OptionScope<W, R>, layers: readonly Partial<W>[]): Resolved<W> {
  const out: Partial<W> = {};
  for (const [field] of fields(scope.rows)) {
    const layer = layers.find((l) => l[field] !== undefined);
    out[field] = layer === undefined ? scope.defaults[field] : layer[field];
  }
  return out as Resolved<W>;
}

function readDefault<R>(spec: OptionSpec<unknown, R>): unknown {
  const parsed = parseConfigSource(`${spec.name} = ${spec.default}`, `default of ${spec.name}`);
  const sink = createDiagnosticSink();
  const [item] = parsed.items;
  const value = item?.kind === 'option' ? spec.read(item, sink) : undefined;
  if (value === undefined || parsed.errors.length + sink.errors.length > 0) {
    throw new Error(`the default of ${spec.name} (${spec.default}) does not read: ${JSON.stringify([...parsed.errors, ...sink.errors])}`);
  }
  return value;
}

// ---- the common kinds of value: reader and type together --------------------------

export function count(rule: { min: number; unit?: 'bytes' }): Pick<OptionSpec<number, never>, 'type' | 'unit' | 'read'> {
  return { type: 'whole number', unit: rule.unit, read: (o, s) => readInteger(o, s, rule) };
}

export function seconds(rule: { min: number; fractional?: boolean }): Pick<OptionSpec<number, never>, 'type' | 'unit' | 'read'> {
  return { type: rule.fractional === true ? 'number' : 'whole number', unit: 'seconds', read: (o, s) => readSecondsAsMs(o, s, rule) };
}

export const flag: Pick<OptionSpec<boolean, never>, 'type' | 'read'> = { type: 'boolean', read: readBoolean };

// ---- printing values as the file writes them ---------------------------------------

/**
 * A double-quoted string the lexer decodes back to `text`: it knows the escapes \" \\
 * \n \t, and a string may not span lines, so a newline must be escaped. Every other
 * character (CR included) stands for itself.
 */
export function quote(text: string): string {
  return `"${text.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`;
}

export function quotedList(items: readonly string[]): string {
  return `( ${items.map(quote).join(' ')} )`;
}

export function whole(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`cannot print ${n}: not a whole number`);
  return String(n);
}

export function wholeSeconds(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms % 1000 !== 0) throw new RangeError(`cannot print ${ms} ms as whole seconds`);
  return String(ms / 1000);
}

/** Exact decimal seconds (0.001 steps), never through float division: 1234567 -> 1234.567. */
export function fractionalSeconds(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`cannot print ${ms} ms as seconds`);
  const fraction = String(ms % 1000).padStart(3, '0').replace(/0+$/, '');
  return fraction === '' ? String(Math.floor(ms / 1000)) : `${Math.floor(ms / 1000)}.${fraction}`;
}

export function octal(mode: number): string {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw new RangeError(`cannot print mode ${mode}`);
  return `0${mode.toString(8).padStart(3, '0')}`;
}
