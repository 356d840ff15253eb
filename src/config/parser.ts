// Recursive descent from tokens to the syntax tree (ast.ts). Pure: no I/O, no option
// names beyond `include`. Recovers from each bad item so that one run reports them all.
//
//   file  := item*
//   item  := ("include" | "readonly_include") scalar
//          | name "=" value
//          | name [word | string] "{" item* "}"      ("{" may be on the next line)
//   value := word | string | "(" value* ")" | "[" ((word | string) "=" value)* "]"

import type { ConfigDiagnostic, SourcePosition } from './types.js';
import type { ItemNode, ListNode, MapEntryNode, MapNode, ScalarNode, ValueNode } from './ast.js';
import { ConfigCode } from './codes.js';
import { lex, type Token } from './lexer.js';

export interface ParseResult {
  readonly items: readonly ItemNode[];
  /** Lexer and parser errors together, in source order. */
  readonly errors: readonly ConfigDiagnostic[];
}

const INCLUDE_KEYWORDS = new Set(['include', 'readonly_include']);

/** Parses one file's text; `file` only labels positions. Includes are left as nodes. */
export function parseConfigSource(text: string, file: string): ParseResult {
  const lexed = lex(text);
  const parser = new Parser(lexed.tokens, file);
  const items = parser.parseFile();
  const errors: ConfigDiagnostic[] = [
    ...lexed.errors.map((e) => syntaxError({ file, line: e.line, column: e.column }, e.message)),
    ...parser.errors,
  ];
  errors.sort((a, b) => a.line - b.line || a.column - b.column);
  return { items, errors };
}

function syntaxError(at: SourcePosition, message: string): ConfigDiagnostic {
  return Object.freeze({ severity: 'error', code: ConfigCode.SYNTAX, message, ...at });
}

function describeToken(t: Token): string {
  if (t.kind === 'eof') return 'end of file';
  if (t.kind === 'string') return `string ${JSON.stringify(t.text)}`;
  return JSON.stringify(t.text);
}

class Parser {
  readonly errors: ConfigDiagnostic[] = [];
  private index = 0;

  constructor(
    private readonly tokens: readonly Token[],
    private readonly file: string,
  ) {}

  parseFile(): ItemNode[] {
    const items: ItemNode[] = [];
    while (this.peek().kind !== 'eof') {
      const t = this.peek();
      if (t.kind === '}') {
        this.fail(t, 'unexpected "}" with no "{" open');
        this.index += 1;
        continue;
      }
      const item = this.parseItem();
      if (item !== undefined) items.push(item);
    }
    return items;
  }

  private parseItem(): ItemNode | undefined {
    const head = this.peek();
    if (head.kind !== 'word') {
      this.fail(head, `expected an option or stanza name, got ${describeToken(head)}`);
      this.recover(head.line);
      return undefined;
    }
    this.index += 1;
    const key = head.text.toLowerCase();
    const next = this.peek();
    if (next.kind === '=') {
      this.index += 1;
      const value = this.parseValue(`"${head.text} ="`);
      if (value === undefined) return undefined;
      return { kind: 'option', name: head.text, key, value, position: this.at(head) };
    }
    if (next.kind === '{') {
      return this.parseScope(head, undefined);
    }
    if (INCLUDE_KEYWORDS.has(key) && (next.kind === 'word' || next.kind === 'string')) {
      this.index += 1;
      return { kind: 'include', keyword: head.text, path: this.scalar(next), position: this.at(head) };
    }
    if ((next.kind === 'word' || next.kind === 'string') && this.peekAt(1).kind === '{') {
      this.index += 1;
      return this.parseScope(head, this.scalar(next));
    }
    // Point at what was found when it is on the same line; a name alone on its line
    // is reported at the name, and the next line is then parsed normally.
    const what = INCLUDE_KEYWORDS.has(key) ? 'a path' : '"=" or "{"';
    this.fail(
      next.line === head.line ? next : head,
      `expected ${what} after "${head.text}", got ${describeToken(next)}`,
    );
    this.recover(head.line);
    return undefined;
  }

  private parseScope(head: Token, name: ScalarNode | undefined): ItemNode {
    const open = this.peek();
    this.index += 1;
    const items: ItemNode[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === '}') {
        this.index += 1;
        break;
      }
      if (t.kind === 'eof') {
        const label = name === undefined ? head.text : `${head.text} ${JSON.stringify(name.text)}`;
        this.fail(t, `unclosed "{" opened at ${open.line}:${open.column} (${label})`);
        break;
      }
      const item = this.parseItem();
      if (item !== undefined) items.push(item);
    }
    const type = head.text;
    return { kind: 'scope', type, key: type.toLowerCase(), name, items, position: this.at(head) };
  }

  private parseValue(after: string): ValueNode | undefined {
    const t = this.peek();
    if (t.kind === 'word' || t.kind === 'string') {
      this.index += 1;
      return this.scalar(t);
    }
    if (t.kind === '(') return this.parseList(t);
    if (t.kind === '[') return this.parseMap(t);
    this.fail(t, `expected a value after ${after}, got ${describeToken(t)}`);
    this.recover(t.line);
    return undefined;
  }

  private parseList(open: Token): ListNode | undefined {
    this.index += 1;
    const items: ValueNode[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === ')') {
        this.index += 1;
        return { kind: 'list', items, position: this.at(open) };
      }
      // ecelerity.conf lists are space-separated; a comma left in a bare word would
      // otherwise surface later as an odd value ("," is not a domain).
      if (t.kind === 'word' && t.text.includes(',')) {
        this.fail(t, `lists are space-separated: remove the comma in ${JSON.stringify(t.text)} (write ( "a" "b" ), not ( "a", "b" ))`);
        this.recover(t.line);
        return undefined;
      }
      if (t.kind === 'word' || t.kind === 'string' || t.kind === '(' || t.kind === '[') {
        const item = this.parseValue('"("');
        if (item === undefined) return undefined;
        items.push(item);
        continue;
      }
      return this.unclosed(open, t, 'list');
    }
  }

  private parseMap(open: Token): MapNode | undefined {
    this.index += 1;
    const entries: MapEntryNode[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === ']') {
        this.index += 1;
        return { kind: 'map', entries, position: this.at(open) };
      }
      if (t.kind !== 'word' && t.kind !== 'string') return this.unclosed(open, t, 'map');
      this.index += 1;
      const eq = this.peek();
      if (eq.kind !== '=') {
        this.fail(eq, `expected "=" after map key ${JSON.stringify(t.text)}, got ${describeToken(eq)}`);
        this.recover(eq.line);
        return undefined;
      }
      this.index += 1;
      const value = this.parseValue(`map key ${JSON.stringify(t.text)} =`);
      if (value === undefined) return undefined;
      entries.push({ key: this.scalar(t), value });
    }
  }

  private unclosed(open: Token, t: Token, what: 'list' | 'map'): undefined {
    const closing = what === 'list' ? ')' : ']';
    this.fail(
      t,
      `expected "${closing}" to close the ${what} opened at ${open.line}:${open.column}, got ${describeToken(t)}`,
    );
    this.recover(t.line);
    return undefined;
  }

  /**
   * Skips the rest of a bad item: the tokens left on `line`, and any `{ ... }` block
   * begun there, whole. Stops before a `}` that closes the enclosing scope.
   */
  private recover(line: number): void {
    let depth = 0;
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') return;
      if (depth === 0 && (t.kind === '}' || t.line > line)) return;
      if (t.kind === '{') depth += 1;
      if (t.kind === '}') depth -= 1;
      this.index += 1;
    }
  }

  private peek(): Token {
    return this.peekAt(0);
  }

  private peekAt(ahead: number): Token {
    // The lexer always ends the stream with eof, and nothing consumes past it.
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)] as Token;
  }

  private scalar(t: Token): ScalarNode {
    return { kind: 'scalar', text: t.text, quoted: t.kind === 'string', position: this.at(t) };
  }

  private at(t: Token): SourcePosition {
    return { file: this.file, line: t.line, column: t.column };
  }

  private fail(t: Token, message: string): void {
    this.errors.push(syntaxError(this.at(t), message));
  }
}
