// The host side of a transport's privileges, which the pure schema could only record: who
// its program runs as (user and group looked up with getent, so every NSS source counts;
// nobody when smtpipe runs as root and no user is named) and whether its directory exists.
// Runs once per load, after the schema. Reports problems to the sink, never throws for them.

import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { ParsedTransport, RunAs, SourcePosition, TransportConfig, WrittenValue } from './types.js';
import { ConfigCode } from './codes.js';
import { MAX_ACCOUNT_ID, USER_WHEN_ROOT } from './defaults.js';
import { createDiagnosticSink, type DiagnosticSink } from './diagnostics.js';

/** smtpipe's own ids (process.getuid(), process.getgid()): passed in, never read here. */
export interface AccountFacts {
  readonly uid: number;
  readonly gid: number;
}

/** A slow NSS source (LDAP, sssd) must not hang a start-up for good. */
const LOOKUP_TIMEOUT_MS = 10_000;

type Lookup<T> =
  | { readonly kind: 'found'; readonly entry: T }
  | { readonly kind: 'missing' }
  | { readonly kind: 'failed'; readonly reason: string };

interface UserEntry {
  readonly uid: number;
  /** The primary group. */
  readonly gid: number;
}

/**
 * The transports with runAs filled in. Lookups run in parallel, once per distinct name;
 * diagnostics come in transport order all the same.
 */
export async function resolveAccounts(
  parsed: readonly ParsedTransport[],
  host: AccountFacts,
  sink: DiagnosticSink,
): Promise<TransportConfig[]> {
  const lookups = createLookups();
  // Start every lookup and check first, then resolve one transport after the other.
  const directoryChecks = parsed.map((t) => (t.directory === null ? null : checkDirectory(t.directory.text)));
  for (const t of parsed) prefetch(t, host, lookups);
  const transports: TransportConfig[] = [];
  for (const [i, t] of parsed.entries()) {
    // Collected per transport, then reported in the order they were written.
    const found = createDiagnosticSink();
    const directoryProblem = await directoryChecks[i];
    if (t.directory !== null && directoryProblem != null) {
      found.error(ConfigCode.DIRECTORY, t.directory.position, `directory: ${directoryProblem}`);
    }
    transports.push({ ...t, runAs: await resolveRunAs(t, host, lookups, found) });
    sink.errors.push(...found.errors.sort((a, b) => a.line - b.line || a.column - b.column));
  }
  return transports;
}

interface Lookups {
  user(key: string): Promise<Lookup<UserEntry>>;
  group(key: string): Promise<Lookup<number>>;
}

function createLookups(): Lookups {
  const cache = new Map<string, Promise<Lookup<string[]>>>();
  const fields = (database: 'passwd' | 'group', key: string): Promise<Lookup<string[]>> => {
    const cacheKey = `${database}:${key}`;
    let found = cache.get(cacheKey);
    if (found === undefined) {
      found = getent(database, key);
      cache.set(cacheKey, found);
    }
    return found;
  };
  return {
    // name:password:uid:gid:gecos:home:shell
    user: async (key) => mapFound(await fields('passwd', key), (f) => ({ uid: Number(f[2]), gid: Number(f[3]) })),
    // name:password:gid:members
    group: async (key) => mapFound(await fields('group', key), (f) => Number(f[2])),
  };
}

function mapFound<A, B>(lookup: Lookup<A>, map: (entry: A) => B): Lookup<B> {
  return lookup.kind === 'found' ? { kind: 'found', entry: map(lookup.entry) } : lookup;
}

/**
 * `getent passwd KEY` / `getent group KEY`: through NSS as the C library sees it, which a
 * read of /etc/passwd would not be. KEY is a name or a number (the schema checked it cannot
 * pass for an option). Exit status 2 means "no such entry".
 */
function getent(database: 'passwd' | 'group', key: string): Promise<Lookup<string[]>> {
  return new Promise((resolve) => {
    execFile('getent', [database, key], { timeout: LOOKUP_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout) => {
      if (err === null) {
        const entry = stdout.split('\n')[0]?.split(':') ?? [];
        const idField = database === 'passwd' ? [entry[2], entry[3]] : [entry[2]];
        const wellFormed = idField.every((f) => f !== undefined && /^[0-9]+$/.test(f));
        resolve(wellFormed ? { kind: 'found', entry } : { kind: 'failed', reason: `getent ${database} printed ${JSON.stringify(stdout)}` });
      } else if (err.code === 2) {
        resolve({ kind: 'missing' });
      } else {
        // Handled: reported as an ERR_CONFIG_ACCOUNT_LOOKUP diagnostic by the caller.
        const why = err.killed ? `timed out after ${LOOKUP_TIMEOUT_MS / 1000} s` : err.message.split('\n')[0];
        resolve({ kind: 'failed', reason: `getent ${database} ${key}: ${why}` });
      }
    });
  });
}

function isNumeric(value: WrittenValue): boolean {
  return /^[0-9]+$/.test(value.text);
}

/** Starts the lookups resolveRunAs will await, so that they run in parallel. */
function prefetch(t: ParsedTransport, host: AccountFacts, lookups: Lookups): void {
  if (t.user !== null && !(isNumeric(t.user) && t.group !== null)) void lookups.user(t.user.text);
  if (t.user === null && host.uid === 0 && !t.allowRoot) void lookups.user(USER_WHEN_ROOT);
  if (t.group !== null && !isNumeric(t.group)) void lookups.group(t.group.text);
}

/** null: the directory exists; else what is wrong with it. */
async function checkDirectory(directory: string): Promise<string | null> {
  try {
    const info = await stat(directory);
    return info.isDirectory() ? null : `${directory} is not a directory`;
  } catch (err) {
    // Handled: becomes an ERR_CONFIG_DIRECTORY diagnostic.
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
    return code === 'ENOENT' ? `${directory} does not exist` : `${directory} cannot be examined: ${String(err)}`;
  }
}

/** A uid or gid, with what to point at when it is refused. */
interface Resolved {
  readonly id: number;
  readonly at: SourcePosition;
  /** How messages name it: `user "alice"`, `the primary group of user "alice"`. */
  readonly what: string;
}

/**
 * The rules, in order: the uid is user's, or nobody's when smtpipe runs as root and no user
 * is named, or smtpipe's own; the gid is group's, or that user's primary group. uid or gid
 * 0 only with allow_root; ids other than smtpipe's own only when smtpipe is root. null =
 * the program keeps smtpipe's ids (and then its supplementary groups too).
 */
async function resolveRunAs(
  t: ParsedTransport,
  host: AccountFacts,
  lookups: Lookups,
  sink: DiagnosticSink,
): Promise<RunAs | null> {
  const user = await resolveUser(t, host, lookups, sink);
  const group = t.group === null ? user?.primaryGroup : await resolveGroup(t.group, lookups, sink);
  if (user === undefined || group === undefined) return null;
  const uid = user.uid;
  const tooHigh = [uid, group].find((side) => side.id > MAX_ACCOUNT_ID);
  if (tooHigh !== undefined) {
    sink.error(
      ConfigCode.INVALID_VALUE,
      tooHigh.at,
      `${tooHigh.what} is ${tooHigh === uid ? 'uid' : 'gid'} ${tooHigh.id}: ids above ${MAX_ACCOUNT_ID} are not supported`,
    );
    return null;
  }
  const root = uid.id === 0 ? { side: uid, kind: 'uid' } : group.id === 0 ? { side: group, kind: 'gid' } : null;
  if (root !== null && !t.allowRoot) {
    sink.error(
      ConfigCode.PROGRAM_AS_ROOT,
      root.side.at,
      `${root.side.what} is ${root.kind} 0: the program would run with root's privileges; set allow_root = true if it must`,
    );
    return null;
  }
  if (uid.id === host.uid && group.id === host.gid) return null;
  if (host.uid !== 0) {
    const [side, kind, own] = uid.id !== host.uid ? [uid, 'uid', host.uid] : [group, 'gid', host.gid];
    sink.error(
      ConfigCode.NEEDS_ROOT,
      side.at,
      `${side.what} is ${kind} ${side.id}, but smtpipe runs with ${kind} ${own}: switching needs smtpipe to start as root`,
    );
    return null;
  }
  return { uid: uid.id, gid: group.id };
}

/** undefined: reported. primaryGroup is undefined only when a numeric uid comes with a group. */
async function resolveUser(
  t: ParsedTransport,
  host: AccountFacts,
  lookups: Lookups,
  sink: DiagnosticSink,
): Promise<{ readonly uid: Resolved; readonly primaryGroup: Resolved | undefined } | undefined> {
  if (t.user !== null && isNumeric(t.user) && t.group !== null) {
    // Both ids given: nothing to look up (a uid without a passwd entry is fine then).
    return { uid: { id: Number(t.user.text), at: t.user.position, what: `user ${t.user.text}` }, primaryGroup: undefined };
  }
  if (t.user !== null) {
    const what = isNumeric(t.user) ? `user ${t.user.text}` : `user "${t.user.text}"`;
    const found = await lookups.user(t.user.text);
    if (found.kind === 'found') return fromEntry(found.entry, t.user.position, what);
    const missing = isNumeric(t.user)
      ? `user: uid ${t.user.text} has no passwd entry to take a primary group from; set group as well`
      : `user: no user "${t.user.text}" on this host (getent passwd)`;
    reportUserLookup(found, t.user.position, missing, sink);
    return undefined;
  }
  if (host.uid === 0 && !t.allowRoot) {
    // Postfix's default_privs: a program never runs as root unless the config says so.
    const name = USER_WHEN_ROOT;
    const found = await lookups.user(name);
    if (found.kind === 'found') return fromEntry(found.entry, t.position, `${name}, the default user when smtpipe runs as root,`);
    const missing =
      `pipe_transport "${t.name}" names no user and smtpipe runs as root, so its program would run as ` +
      `"${name}", which does not exist here: set user (or allow_root = true)`;
    reportUserLookup(found, t.position, missing, sink);
    return undefined;
  }
  return {
    uid: { id: host.uid, at: t.position, what: "smtpipe's own uid" },
    primaryGroup: { id: host.gid, at: t.position, what: "smtpipe's own gid" },
  };
}

function fromEntry(entry: UserEntry, at: SourcePosition, what: string): { uid: Resolved; primaryGroup: Resolved } {
  return { uid: { id: entry.uid, at, what }, primaryGroup: { id: entry.gid, at, what: `the primary group of ${what}` } };
}

function reportUserLookup(found: Lookup<unknown>, at: SourcePosition, missing: string, sink: DiagnosticSink): void {
  if (found.kind === 'failed') sink.error(ConfigCode.ACCOUNT_LOOKUP, at, `user: cannot look up: ${found.reason}`);
  else sink.error(ConfigCode.UNKNOWN_USER, at, missing);
}

async function resolveGroup(group: WrittenValue, lookups: Lookups, sink: DiagnosticSink): Promise<Resolved | undefined> {
  const what = isNumeric(group) ? `group ${group.text}` : `group "${group.text}"`;
  if (isNumeric(group)) return { id: Number(group.text), at: group.position, what };
  const found = await lookups.group(group.text);
  if (found.kind === 'found') return { id: found.entry, at: group.position, what };
  if (found.kind === 'failed') sink.error(ConfigCode.ACCOUNT_LOOKUP, group.position, `group: cannot look up: ${found.reason}`);
  else sink.error(ConfigCode.UNKNOWN_GROUP, group.position, `group: no group "${group.text}" on this host (getent group)`);
  return undefined;
}
