// Entry point of the config layer: file -> LoadResult holding the frozen Config or
// every error, plus warnings. The one place a config is frozen. Never throws for a
// config problem; formats diagnostics as `file:line:col: severity: message [CODE]`.

import os from 'node:os';
import path from 'node:path';
import type { Config, ConfigDiagnostic, ParsedConfig } from './types.js';
import type { ItemNode } from './ast.js';
import { resolveAccounts } from './accounts.js';
import { readSourceTree, rejectIncludes, withIncludeTrail } from './include.js';
import { parseConfigSource } from './parser.js';
import { createDiagnosticSink } from './diagnostics.js';
import { deepFreeze } from './freeze.js';
import { buildConfig } from './schema.js';
import { checkSpoolDirectory } from './spool-directory.js';
import { checkProgramAccess } from './program-access.js';
import { readPasswordFiles } from './password-file.js';
import { readTlsFiles } from './tls-files.js';

export type LoadResult<C = Config> =
  | { readonly ok: true; readonly config: C; readonly warnings: readonly ConfigDiagnostic[] }
  | { readonly ok: false; readonly errors: readonly ConfigDiagnostic[]; readonly warnings: readonly ConfigDiagnostic[] };

/** parseConfigText's result: nothing read from the host, so no accounts and no PEM text. */
export type ParseResult = LoadResult<ParsedConfig>;

/** Host facts the defaults depend on; tests pass fixed ones. */
export interface HostFacts {
  readonly hostname: string;
  readonly parallelism: number;
  /** smtpipe's own uid and gid: who programs may run as (src/config/accounts.ts). */
  readonly uid: number;
  readonly gid: number;
  /** smtpipe's supplementary groups, which a program run without user/group keeps; absent: none. */
  readonly groups?: readonly number[];
  /** The default Spool_Directory; absent: from this process's TMPDIR (defaultSpoolDirectory). */
  readonly tmpdir?: string;
}

/** What the pure schema needs of them (no accounts: parseConfigText looks nothing up). */
export type SchemaHostFacts = Pick<HostFacts, 'hostname' | 'parallelism' | 'tmpdir'>;

export function currentHostFacts(): HostFacts {
  // -1 where the platform has no uids: never root, so no switch is allowed.
  const uid = process.getuid?.() ?? -1;
  const gid = process.getgid?.() ?? -1;
  const groups = process.getgroups?.() ?? [];
  return { hostname: os.hostname(), parallelism: os.availableParallelism(), uid, gid, groups, tmpdir: defaultSpoolDirectory(process.env) };
}

/** Postfix and sort(1) read TMPDIR the same way: only an absolute path counts. */
export function defaultSpoolDirectory(env: NodeJS.ProcessEnv): string {
  const tmpdir = env.TMPDIR;
  return tmpdir !== undefined && tmpdir.startsWith('/') ? tmpdir.replace(/(.)\/+$/, '$1') : '/var/tmp';
}

/**
 * Reads `file` and its includes and validates the whole. Diagnostics name the main
 * file as passed, and included files joined to their includer's directory.
 */
export async function loadConfig(file: string, host: HostFacts = currentHostFacts()): Promise<LoadResult> {
  const tree = await readSourceTree(file);
  // Every diagnostic about an included file also says which include pulled it in.
  const trail = (list: readonly ConfigDiagnostic[]): ConfigDiagnostic[] => list.map((d) => withIncludeTrail(d, tree.includedFrom));
  const result = finish(tree.items, [...tree.errors], file, host);
  if (!result.ok) return { ok: false, errors: trail(result.errors), warnings: trail([...tree.warnings, ...result.warnings]) };
  // What the schema cannot see: files and accounts the config names, as they are now.
  const sink = createDiagnosticSink();
  const transports = await resolveAccounts(result.config.transports, host, sink);
  // After the accounts: each program and output file is checked as the identity that runs it.
  const checker = { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1 };
  const own = { uid: host.uid, gid: host.gid, groups: host.groups ?? [] };
  await checkProgramAccess(transports, own, checker, sink.errors.length === 0, sink);
  const listeners = await readPasswordFiles(await readTlsFiles(result.config.listeners, sink), sink);
  await checkSpoolDirectory(result.config.spool, sink);
  const warnings = trail([...tree.warnings, ...result.warnings, ...sink.warnings]);
  if (sink.errors.length > 0) return { ok: false, errors: trail(sink.errors), warnings };
  const config: Config = { ...result.config, listeners, transports };
  return { ok: true, config: deepFreeze(config), warnings };
}

/**
 * Pure variant for tests and property tests: one text, no I/O; an `include` in it is
 * an ERR_CONFIG_INCLUDE error. `file` only labels positions (and gives Config.file).
 */
export function parseConfigText(text: string, file: string, host: SchemaHostFacts = currentHostFacts()): ParseResult {
  const parsed = parseConfigSource(text, file);
  const errors = [...parsed.errors];
  rejectIncludes(parsed.items, errors);
  const result = finish(parsed.items, errors, file, host);
  return result.ok ? { ...result, config: deepFreeze(result.config) } : result;
}

function finish(items: readonly ItemNode[], errors: ConfigDiagnostic[], file: string, host: SchemaHostFacts): ParseResult {
  // The schema runs only on a tree that parsed cleanly: half-parsed stanzas would
  // produce "missing program_name" noise for a line that merely lacks its "=".
  if (errors.length > 0) return { ok: false, errors, warnings: [] };
  const tmpdir = host.tmpdir ?? defaultSpoolDirectory(process.env);
  const result = buildConfig(items, { file: path.resolve(file), displayFile: file, hostname: host.hostname, parallelism: host.parallelism, tmpdir });
  if (result.config === undefined) return { ok: false, errors: result.errors, warnings: result.warnings };
  return { ok: true, config: result.config, warnings: result.warnings };
}

/** `path/file.conf:12:5: error: <message> [ERR_CONFIG_...]` */
export function formatDiagnostic(d: ConfigDiagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message} [${d.code}]`;
}
