// A private Postfix instance for tests: its own config_directory, queue_directory and
// maillog under a scratch directory, smtpd on one loopback port. Never reads or writes
// /etc/postfix, never listens on port 25; stop() stops its master and deletes everything.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { scratchDir } from './daemon.js';

const run = promisify(execFile);

/** Debian's postfix package (bench/postfix/setup.sh install, .ci/run). */
export const POSTFIX = ['/usr/sbin/postfix', '/usr/local/sbin/postfix'].find((file) => existsSync(file));

export interface PostfixOptions {
  /** smtpd listens on 127.0.0.1:port. */
  readonly port: number;
  /** Domains Postfix accepts from anyone and relays (relay_domains). */
  readonly relayDomains: readonly string[];
  /** The transport map: domain -> `transport:nexthop`, as in transport(5). */
  readonly transports: Readonly<Record<string, string>>;
  /** Extra main.cf lines (after the generated ones: later lines win). */
  readonly main?: string;
  /** Extra master.cf services. */
  readonly master?: string;
}

export interface PostfixInstance {
  readonly dir: string;
  /** Its config_directory: `postfix -c`, `postqueue -c`, `postconf -c`. */
  readonly conf: string;
  readonly port: number;
  /** maillog_file's text so far. */
  log(): Promise<string>;
  /** Resolves with the first maillog line matching `pattern`; rejects after `timeoutMs`. */
  waitLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** `postqueue -j`: one object per queued message (active, deferred, hold, ...). */
  queue(): Promise<Array<Record<string, unknown>>>;
  stop(): Promise<void>;
}

export async function startPostfix(options: PostfixOptions): Promise<PostfixInstance> {
  if (POSTFIX === undefined) throw new Error('postfix is not installed');
  const dir = await scratchDir();
  const conf = path.join(dir, 'conf');
  const maillog = path.join(dir, 'maillog');
  // The daemons run as the postfix user and must reach the queue and the maps.
  await chmod(dir, 0o755);
  await mkdir(conf, { mode: 0o755 });
  await mkdir(path.join(dir, 'queue'));
  await mkdir(path.join(dir, 'data'));
  const postfixUid = Number((await run('id', ['-u', 'postfix'])).stdout.trim());
  await chown(path.join(dir, 'data'), postfixUid, -1);
  await writeFile(maillog, '');
  const transportFile = path.join(conf, 'smtpipe_transport');
  await writeFile(
    transportFile,
    Object.entries(options.transports)
      .map(([domain, target]) => `${domain}\t${target}\n`)
      .join(''),
  );
  await writeFile(path.join(conf, 'main.cf'), mainCf(dir, transportFile, options));
  await writeFile(path.join(conf, 'master.cf'), masterCf(options));
  // `postfix check` creates the queue's subdirectories with their owners and modes.
  await run(POSTFIX, ['-c', conf, 'check']);
  await run(POSTFIX, ['-c', conf, 'start']);
  const pidFile = path.join(dir, 'queue', 'pid', 'master.pid');
  const instance: PostfixInstance = {
    dir,
    conf,
    port: options.port,
    log: () => readFile(maillog, 'utf8'),
    async waitLog(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = (await readFile(maillog, 'utf8')).split('\n').find((l) => pattern.test(l));
        if (line !== undefined) return line;
        if (Date.now() > deadline) throw new Error(`no maillog line matched ${pattern} within ${timeoutMs} ms:\n${await readFile(maillog, 'utf8')}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async queue() {
      const { stdout } = await run(path.join(path.dirname(POSTFIX), 'postqueue'), ['-c', conf, '-j']);
      return stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    async stop() {
      const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
      await run(POSTFIX, ['-c', conf, 'stop']).catch(() => undefined);
      if (pid > 0) {
        const deadline = Date.now() + 5000;
        while (alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  // The master writes its pid once it runs; its smtpd port then accepts.
  const deadline = Date.now() + 10_000;
  while (!existsSync(pidFile)) {
    if (Date.now() > deadline) {
      await instance.stop();
      throw new Error('postfix master did not write its pid file');
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return instance;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function mainCf(dir: string, transportFile: string, options: PostfixOptions): string {
  return `# A throw-away test instance (test/helpers/postfix.ts).
compatibility_level = 3.6
queue_directory = ${dir}/queue
data_directory = ${dir}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.test
mydomain = postfix.test
myorigin = $myhostname
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
relay_recipient_maps =
relay_domains = ${options.relayDomains.join(' ')}
transport_maps = texthash:${transportFile}
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
biff = no
append_dot_mydomain = no
maillog_file = ${dir}/maillog
maillog_file_prefixes = ${dir}
${options.main ?? ''}
`;
}

function masterCf(options: PostfixOptions): string {
  return `# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:${options.port} inet n  -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
lmtp      unix  -       -       n       -       -       lmtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
${options.master ?? ''}
`;
}
