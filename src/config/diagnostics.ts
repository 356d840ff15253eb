// Collects the errors and warnings of one load so that every problem is reported in
// one run (house style: config errors are collected, never thrown one at a time).

import type { ConfigDiagnostic, SourcePosition } from './types.js';
import type { ConfigCodeValue } from './codes.js';

export interface DiagnosticSink {
  readonly errors: ConfigDiagnostic[];
  readonly warnings: ConfigDiagnostic[];
  error(code: ConfigCodeValue, at: SourcePosition, message: string): void;
  warn(code: ConfigCodeValue, at: SourcePosition, message: string): void;
}

export function createDiagnosticSink(): DiagnosticSink {
  const errors: ConfigDiagnostic[] = [];
  const warnings: ConfigDiagnostic[] = [];
  const make = (
    severity: ConfigDiagnostic['severity'],
    code: ConfigCodeValue,
    at: SourcePosition,
    message: string,
  ): ConfigDiagnostic =>
    Object.freeze({ severity, code, message, file: at.file, line: at.line, column: at.column });
  return {
    errors,
    warnings,
    error: (code, at, message) => void errors.push(make('error', code, at, message)),
    warn: (code, at, message) => void warnings.push(make('warning', code, at, message)),
  };
}

/** `file:3:20`, the form used inside messages that point at another place. */
export function formatPosition(at: SourcePosition): string {
  return `${at.file}:${at.line}:${at.column}`;
}

/** Stable sort: files in the order they were read (includes in place), then line:col. */
export function sortDiagnostics(list: readonly ConfigDiagnostic[], fileOrder: readonly string[]): ConfigDiagnostic[] {
  const rank = new Map<string, number>();
  for (const f of fileOrder) if (!rank.has(f)) rank.set(f, rank.size);
  const rankOf = (d: ConfigDiagnostic): number => rank.get(d.file) ?? rank.size;
  return [...list].sort((a, b) => rankOf(a) - rankOf(b) || a.line - b.line || a.column - b.column);
}
