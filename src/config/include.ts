// The only config module that does I/O: reads the main file and every `include` /
// `readonly_include` (any scope, relative to the including file, a directory gives its
// files in lexical order, dotfiles skipped silently, editor backups and package leftovers
// skipped with a warning, no recursion), splicing their items in place, and remembers
// which include pulled each file in. Only regular files are read (regular-file.ts).

import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ConfigDiagnostic, SourcePosition } from './types.js';
import type { IncludeNode, ItemNode } from './ast.js';
import { ConfigCode } from './codes.js';
import { parseConfigSource } from './parser.js';
import { formatPosition, sortDiagnostics } from './diagnostics.js';
import { describeFsError, readRegularFile } from './regular-file.js';

export interface SourceTree {
  /** Every file's items with includes replaced by what they include. */
  readonly items: readonly ItemNode[];
  /** Read, syntax and include errors, all of them, in reading order. */
  readonly errors: readonly ConfigDiagnostic[];
  /** Files a directory include skipped (WARN_CONFIG_INCLUDE_SKIPPED). */
  readonly warnings: readonly ConfigDiagnostic[];
  /** Display name of each included file -> the `include` that first pulled it in. */
  readonly includedFrom: ReadonlyMap<string, SourcePosition>;
}

/**
 * Editor backups and package managers' leftovers: `*~`, `#*#` (Emacs), Vim's `.swp`/`.swo`,
 * `.bak`, `.orig`/`.rej` (patch), `.dpkg-old`/`.dpkg-dist`/..., `.rpmnew`/`.rpmsave`,
 * `.ucf-old`/... Reading them would revive a transport just deleted from the real file.
 * Momentum reads every file but dotfiles; skipping these is smtpipe's own rule.
 */
const LEFTOVER = /(?:~|\.swp|\.swo|\.bak|\.orig|\.rej|\.rpmnew|\.rpmsave|\.dpkg-[a-z]+|\.ucf-[a-z]+)$|^#.*#$/i;

export function isLeftoverFile(name: string): boolean {
  return LEFTOVER.test(name);
}

/**
 * Appends `(included from main.conf:12:1)` to a diagnostic whose file was reached by an
 * include, with the whole chain for nested includes (`... via main.conf:12:1`).
 */
export function withIncludeTrail(d: ConfigDiagnostic, includedFrom: ReadonlyMap<string, SourcePosition>): ConfigDiagnostic {
  const trail: string[] = [];
  let at = includedFrom.get(d.file);
  // Cycles are refused while reading, but a bound keeps a bad map from looping here.
  while (at !== undefined && trail.length < 64) {
    trail.push(formatPosition(at));
    at = includedFrom.get(at.file);
  }
  if (trail.length === 0) return d;
  return Object.freeze({ ...d, message: `${d.message} (included from ${trail.join(' via ')})` });
}

interface FileRef {
  /** The name used in diagnostics: as the user wrote it, joined to the includer's. */
  readonly display: string;
  /** Canonical path (symlinks resolved), for cycle detection. */
  readonly real: string;
}

/** Reads `mainFile` and all it includes. Never rejects for a config problem. */
export async function readSourceTree(mainFile: string): Promise<SourceTree> {
  const errors: ConfigDiagnostic[] = [];
  const at = { file: mainFile, line: 1, column: 1 };
  const read = await readRegularFile(mainFile);
  const none = { items: [], errors, warnings: [], includedFrom: new Map() };
  if (!read.ok) {
    errors.push(diagnostic(ConfigCode.READ, at, `cannot read config file: ${read.reason}`));
    return none;
  }
  let real: string;
  try {
    real = await realpath(mainFile);
  } catch (err) {
    errors.push(diagnostic(ConfigCode.READ, at, `cannot read config file: ${describeFsError(err)}`));
    return none;
  }
  const expander = new IncludeExpander(errors);
  const items = await expander.expandFile({ display: mainFile, real }, read.text, []);
  return {
    items,
    errors: sortDiagnostics(errors, expander.files),
    warnings: sortDiagnostics(expander.warnings, expander.files),
    includedFrom: expander.includedFrom,
  };
}

/** Same tree as readSourceTree but from text: any include is an error (no I/O here). */
export function rejectIncludes(items: readonly ItemNode[], errors: ConfigDiagnostic[]): void {
  for (const item of items) {
    if (item.kind === 'include') {
      const message = `${item.keyword} needs files on disk; not available when parsing text alone`;
      errors.push(diagnostic(ConfigCode.INCLUDE, item.position, message));
    } else if (item.kind === 'scope') {
      rejectIncludes(item.items, errors);
    }
  }
}

class IncludeExpander {
  /** Files already parsed: a file included twice reports its syntax errors once. */
  private readonly seen = new Set<string>();
  /** Display names in the order files were read. */
  readonly files: string[] = [];
  readonly warnings: ConfigDiagnostic[] = [];
  readonly includedFrom = new Map<string, SourcePosition>();

  constructor(private readonly errors: ConfigDiagnostic[]) {}

  async expandFile(file: FileRef, text: string, stack: readonly string[]): Promise<ItemNode[]> {
    const parsed = parseConfigSource(text, file.display);
    this.files.push(file.display);
    if (!this.seen.has(file.real)) {
      this.seen.add(file.real);
      this.errors.push(...parsed.errors);
    }
    return this.expandItems(parsed.items, file, [...stack, file.real]);
  }

  private async expandItems(
    items: readonly ItemNode[],
    from: FileRef,
    stack: readonly string[],
  ): Promise<ItemNode[]> {
    const out: ItemNode[] = [];
    for (const item of items) {
      if (item.kind === 'include') {
        out.push(...(await this.include(item, from, stack)));
      } else if (item.kind === 'scope') {
        out.push({ ...item, items: await this.expandItems(item.items, from, stack) });
      } else {
        out.push(item);
      }
    }
    return out;
  }

  private async include(node: IncludeNode, from: FileRef, stack: readonly string[]): Promise<ItemNode[]> {
    const target = node.path.text;
    if (target === '') {
      this.fail(node.position, `${node.keyword} needs a path, got ""`);
      return [];
    }
    // Relative to the including file's directory, both on disk and in messages.
    const display = path.isAbsolute(target) ? target : path.join(path.dirname(from.display), target);
    const absolute = path.resolve(path.dirname(from.real), target);
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(absolute)).isDirectory();
    } catch (err) {
      this.fail(
        node.position,
        `cannot ${node.keyword} ${JSON.stringify(target)}: ${absolute}: ${describeFsError(err)}`,
      );
      return [];
    }
    if (!isDirectory) return this.includeFile(node, { display, absolute }, stack);

    let names: string[];
    try {
      names = (await readdir(absolute)).filter((n) => !n.startsWith('.')).sort();
    } catch (err) {
      this.fail(node.position, `cannot list ${JSON.stringify(target)}: ${describeFsError(err)}`);
      return [];
    }
    const out: ItemNode[] = [];
    for (const name of names) {
      const entry = { display: path.join(display, name), absolute: path.join(absolute, name) };
      // Directories inside an included directory are not descended into; a FIFO, device
      // or socket there is an error (includeFile refuses it), not silently skipped. An
      // entry that vanished since readdir (or a dangling symlink) is skipped as before.
      const skip = await stat(entry.absolute).then((s) => s.isDirectory(), () => true);
      if (skip) continue;
      if (isLeftoverFile(name)) {
        const why = 'an editor backup or package leftover; rename it to have it read';
        this.warnings.push(diagnostic(ConfigCode.INCLUDE_SKIPPED, node.position, `${node.keyword} ${JSON.stringify(target)}: skipped ${entry.display} (${why})`, 'warning'));
        continue;
      }
      out.push(...(await this.includeFile(node, entry, stack)));
    }
    return out;
  }

  private async includeFile(
    node: IncludeNode,
    file: { display: string; absolute: string },
    stack: readonly string[],
  ): Promise<ItemNode[]> {
    let real: string;
    try {
      real = await realpath(file.absolute);
    } catch (err) {
      this.fail(node.position, `cannot read ${JSON.stringify(file.display)}: ${describeFsError(err)}`);
      return [];
    }
    if (stack.includes(real)) {
      const chain = [...stack.slice(stack.indexOf(real)), real].map((p) => path.basename(p));
      this.fail(node.position, `include cycle: ${chain.join(' -> ')} (${file.display} is already being read)`);
      return [];
    }
    const read = await readRegularFile(real);
    if (!read.ok) {
      this.fail(node.position, `cannot read ${JSON.stringify(file.display)}: ${read.reason}`);
      return [];
    }
    if (!this.includedFrom.has(file.display)) this.includedFrom.set(file.display, node.position);
    return this.expandFile({ display: file.display, real }, read.text, stack);
  }

  private fail(at: SourcePosition, message: string): void {
    this.errors.push(diagnostic(ConfigCode.INCLUDE, at, message));
  }
}

function diagnostic(code: string, at: SourcePosition, message: string, severity: ConfigDiagnostic['severity'] = 'error'): ConfigDiagnostic {
  return Object.freeze({ severity, code, message, file: at.file, line: at.line, column: at.column });
}
