// The only config module that does I/O: reads the main file and every `include` /
// `readonly_include` (any scope, relative to the including file, a directory gives its
// files in lexical order, dotfiles skipped, no recursion), splicing their items in place.
// Only regular files are read (src/config/regular-file.ts): a FIFO would hang the load.

import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ConfigDiagnostic, SourcePosition } from './types.js';
import type { IncludeNode, ItemNode } from './ast.js';
import { ConfigCode } from './codes.js';
import { parseConfigSource } from './parser.js';
import { sortDiagnostics } from './diagnostics.js';
import { describeFsError, readRegularFile } from './regular-file.js';

export interface SourceTree {
  /** Every file's items with includes replaced by what they include. */
  readonly items: readonly ItemNode[];
  /** Read, syntax and include errors, all of them, in reading order. */
  readonly errors: readonly ConfigDiagnostic[];
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
  if (!read.ok) {
    errors.push(diagnostic(ConfigCode.READ, at, `cannot read config file: ${read.reason}`));
    return { items: [], errors };
  }
  let real: string;
  try {
    real = await realpath(mainFile);
  } catch (err) {
    errors.push(diagnostic(ConfigCode.READ, at, `cannot read config file: ${describeFsError(err)}`));
    return { items: [], errors };
  }
  const expander = new IncludeExpander(errors);
  const items = await expander.expandFile({ display: mainFile, real }, read.text, []);
  return { items, errors: sortDiagnostics(errors, expander.files) };
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
      if (!skip) out.push(...(await this.includeFile(node, entry, stack)));
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
    return this.expandFile({ display: file.display, real }, read.text, stack);
  }

  private fail(at: SourcePosition, message: string): void {
    this.errors.push(diagnostic(ConfigCode.INCLUDE, at, message));
  }
}

function diagnostic(code: string, at: SourcePosition, message: string): ConfigDiagnostic {
  return Object.freeze({ severity: 'error', code, message, file: at.file, line: at.line, column: at.column });
}
