// A quick tool, not the comparison: main-thread CPU per message of smtpipe (a transport
// running a trivial program) against the bare smtp-server sink (compare/servers/ceiling.ts),
// under the same smtp-load run, read from /proc/PID/task/PID/{stat,schedstat} around a
// fixed number of messages after a warm-up. Pairs alternate so both share the machine's mood.
//
//   node dist/bench/cpu/main-thread.js [--messages 4000] [--warmup 1000] [--repeat 3]
//        [--connections 50] [--size 2k] [--program /bin/true] [--cpu-prof-dir DIR]
//        [--log-level info] [--rate N]
//   --cpu-prof-dir: DIR/sink and DIR/smtpipe get each one's profiles (bench/cpu/profile-summary.ts)

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderSmtpipeConfig } from '../compare/servers/smtpipe-config.js';

const DIST = path.resolve(import.meta.dirname, '../..');
const LOAD = path.resolve(DIST, '../packages/smtp-load/dist/src/cli.js');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '4000' },
    warmup: { type: 'string', default: '1000' },
    repeat: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    size: { type: 'string', default: '2k' },
    program: { type: 'string', default: '/bin/true' },
    'cpu-prof-dir': { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    /** smtp-load -R for both: compares them at the same msgs/s (a faster loop amortises its wake-ups over more messages). */
    rate: { type: 'string' },
  },
});
const messages = Number(values.messages);

/** CPU of a process's main thread: utime+stime (clock ticks) and schedstat's run time (ns). */
function mainThreadCpu(pid: number): { ticks: number; user: number; ns: number } {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const user = Number(fields[11]);
  const ticks = user + Number(fields[12]);
  const ns = Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]);
  return { ticks, user, ns };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before listening`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(true)).once('error', () => resolve(false));
      socket.once('connect', () => socket.destroy());
    });
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`port ${port} never opened`);
}

/** One smtp-load run of `amount` messages; throws unless every one got a 2xx. */
function load(port: number, amount: number): Promise<number> {
  const rate = values.rate === undefined ? [] : ['-R', values.rate];
  const args = [LOAD, '-j', '-c', values.connections, '-a', String(amount), '--per-conn', '1', '--size', values.size, ...rate, `smtp://127.0.0.1:${port}`];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('close', (code) => {
      try {
        const result = JSON.parse(out) as { messages: { ok2xx: number }; msgsPerSecond: { mean: number } };
        if (code !== 0 || result.messages.ok2xx !== amount) throw new Error(`load exited ${code}: ${out}`);
        resolve(result.msgsPerSecond.mean);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

interface System {
  readonly name: string;
  readonly child: ChildProcess;
  readonly port: number;
}

async function start(name: string, argv: (port: number) => string[], logFile: string, nodeFlags: string[] = []): Promise<System> {
  const port = await freePort();
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...nodeFlags, ...argv(port)], { stdio: ['ignore', log, log] });
  await waitForPort(port, child);
  await load(port, Number(values.warmup));
  return { name, child, port };
}

async function measure(system: System): Promise<{ usTicks: number; usUser: number; usSched: number; rate: number }> {
  const pid = system.child.pid!;
  const before = mainThreadCpu(pid);
  const rate = await load(system.port, messages);
  const after = mainThreadCpu(pid);
  return {
    usTicks: ((after.ticks - before.ticks) * 1e6) / CLK_TCK / messages,
    usUser: ((after.user - before.user) * 1e6) / CLK_TCK / messages,
    usSched: (after.ns - before.ns) / 1e3 / messages,
    rate,
  };
}

function stop(system: System): Promise<void> {
  return new Promise((resolve) => {
    if (system.child.exitCode !== null) return resolve();
    system.child.once('exit', () => resolve());
    system.child.kill('SIGTERM');
  });
}

const work = mkdtempSync(path.join(tmpdir(), 'smtpipe-cpu-'));
const config = path.join(work, 'smtpipe.conf');
const profDir = values['cpu-prof-dir'];
/** Each system writes its profiles (main thread: the file with thread id 0) to a directory of its own. */
const profFlags = (name: string) => (profDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', path.resolve(profDir, name)]);
const systems: System[] = [];
try {
  const sink = await start('smtp-server sink', (port) => [path.join(DIST, 'bench/compare/servers/ceiling.js'), '--port', String(port)], path.join(work, 'sink.log'), profFlags('sink'));
  systems.push(sink);
  const smtpipe = await start(
    'smtpipe',
    (port) => {
      writeFileSync(config, renderSmtpipeConfig({ port, spawner: null, domain: 'example.com', program: values.program, slow: null }));
      return [path.join(DIST, 'src/ops/cli.js'), '-c', config, '--log-level', values['log-level']];
    },
    path.join(work, 'smtpipe.log'),
    profFlags('smtpipe'),
  );
  systems.push(smtpipe);
  console.log(`${messages} messages of ${values.size}, c=${values.connections}, one connection each; program ${values.program}; CLK_TCK ${CLK_TCK}`);
  console.log('run  sink us/msg (ticks|sched)  smtpipe us/msg (ticks|sched)  ratio (ticks|sched)  msgs/s sink|smtpipe  user us/msg sink|smtpipe');
  for (let run = 1; run <= Number(values.repeat); run += 1) {
    const order = run % 2 === 1 ? [sink, smtpipe] : [smtpipe, sink];
    const [first, second] = [await measure(order[0]!), await measure(order[1]!)];
    const [s, p] = run % 2 === 1 ? [first, second] : [second, first];
    const f = (n: number) => n.toFixed(0).padStart(5);
    console.log(
      `${String(run).padStart(3)}  ${f(s.usTicks)} | ${f(s.usSched)}            ${f(p.usTicks)} | ${f(p.usSched)}               ` +
        `${(p.usTicks / s.usTicks).toFixed(2)} | ${(p.usSched / s.usSched).toFixed(2)}          ${f(s.rate)} | ${f(p.rate)}` +
        `       ${f(s.usUser)} | ${f(p.usUser)}`,
    );
  }
} finally {
  // SIGTERM drains smtpipe, and --cpu-prof writes its profile on that exit.
  await Promise.all(systems.map(stop));
  rmSync(work, { recursive: true, force: true });
}
