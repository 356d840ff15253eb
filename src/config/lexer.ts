// Turns ecelerity.conf text into tokens with 1-based line/column. Pure: no I/O, no
// knowledge of option names; it reports errors as values and keeps going after them.
// Columns count UTF-16 code units from the start of the line; a tab counts as one.

export type TokenKind = 'word' | 'string' | '{' | '}' | '(' | ')' | '[' | ']' | '=' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Bare word as written, decoded string contents, or the punctuation itself. */
  readonly text: string;
  readonly line: number;
  readonly column: number;
}

export interface LexError {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export interface LexResult {
  /** Always ends with one `eof` token, placed just after the last character. */
  readonly tokens: readonly Token[];
  readonly errors: readonly LexError[];
}

const PUNCTUATION = new Set(['{', '}', '(', ')', '[', ']', '=']);
const WHITESPACE = new Set([' ', '\t', '\r', '\n', '\f', '\v', '\uFEFF']);
const ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', n: '\n', t: '\t' };

export function lex(text: string): LexResult {
  const tokens: Token[] = [];
  const errors: LexError[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const column = (at: number): number => at - lineStart + 1;

  while (i < text.length) {
    const c = text[i] as string;
    if (c === '\n') {
      i += 1;
      line += 1;
      lineStart = i;
    } else if (WHITESPACE.has(c)) {
      i += 1;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i += 1;
    } else if (c === '/' && text[i + 1] === '*') {
      // Block comments do not nest: the first "*/" closes, as in C and in Momentum.
      const close = text.indexOf('*/', i + 2);
      if (close === -1) {
        errors.push({ line, column: column(i), message: 'unterminated "/*" comment' });
      }
      const end = close === -1 ? text.length : close + 2;
      for (let k = i; k < end; k += 1) {
        if (text[k] === '\n') {
          line += 1;
          lineStart = k + 1;
        }
      }
      i = end;
    } else if (PUNCTUATION.has(c)) {
      tokens.push({ kind: c as TokenKind, text: c, line, column: column(i) });
      i += 1;
    } else if (c === '"') {
      const start = column(i);
      let value = '';
      i += 1;
      let closed = false;
      // A string may not span lines: a missing quote is then reported where it
      // belongs instead of swallowing the rest of the file.
      while (i < text.length && text[i] !== '\n') {
        const d = text[i] as string;
        if (d === '"') {
          closed = true;
          i += 1;
          break;
        }
        const escaped = d === '\\' ? ESCAPES[text[i + 1] ?? ''] : undefined;
        if (escaped !== undefined) {
          value += escaped;
          i += 2;
        } else {
          // Unknown escapes keep their backslash: foreign stanzas may hold regexes.
          value += d;
          i += 1;
        }
      }
      if (!closed) {
        errors.push({ line, column: start, message: 'unterminated string: missing closing \'"\'' });
      }
      tokens.push({ kind: 'string', text: value, line, column: start });
    } else {
      const start = i;
      while (i < text.length && isWordChar(text, i)) i += 1;
      tokens.push({ kind: 'word', text: text.slice(start, i), line, column: column(start) });
    }
  }
  tokens.push({ kind: 'eof', text: '', line, column: column(i) });
  return { tokens, errors };
}

/** Bare words run up to whitespace, punctuation, a quote, `#`, or a `/*` comment. */
function isWordChar(text: string, i: number): boolean {
  const c = text[i] as string;
  if (WHITESPACE.has(c) || PUNCTUATION.has(c) || c === '"' || c === '#') return false;
  return !(c === '/' && text[i + 1] === '*');
}
