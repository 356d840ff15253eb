// The ledger: nothing lost, nothing doubled. 2,000 messages over 50 connections into the
// built CLI, whose program (ledger.sh) records every run and then exits 0, 75, 100, 111,
// is killed or hangs past the timeout, as each message's headers say (chosen here from a
// hash of id and attempt: reproducible). Part-way the daemon gets SIGTERM, drains, exits,
// and is started again on the same port; the client resends whatever got no 2xx, round
// after round, as a real client would. The daemon's JSON log lines are the witness.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { scratchDir } from '../helpers/daemon.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { dotStuff, SmtpClient, type Reply } from '../helpers/smtp-client.js';

const CLI = path.join(repoRoot, 'dist', 'src', 'ops', 'cli.js');
const MESSAGES = 2000;
const CONNECTIONS = 50;
/** SIGTERM once this share of the messages got their first DATA reply. */
const STOP_AT = 0.4;
/** From this attempt on the program always exits 0, so the rounds are bounded. */
const LAST_RANDOM_ATTEMPT = 4;
const MAX_ROUNDS = 8;
const REPLY_TIMEOUT_MS = 20000;
const MAPPED_111 = '450 4.3.0 soft failure (mapped)';

type Action = '0' | '75' | '100' | '111' | 'kill' | 'hang';

/** FNV-1a, 32 bits: a stable hash so that a failing run can be replayed exactly. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function actionFor(id: string, attempt: number): Action {
  if (attempt > LAST_RANDOM_ATTEMPT) return '0';
  const roll = hash(`${id}/${attempt}`) % 1000;
  if (roll < 600) return '0';
  if (roll < 700) return '75';
  if (roll < 790) return '100';
  if (roll < 880) return '111';
  if (roll < 985) return 'kill';
  return 'hang';
}

/** The client drops the connection right after the final dot: it is gone before the reply. */
function abandons(id: string, attempt: number): boolean {
  return attempt <= LAST_RANDOM_ATTEMPT && hash(`abandon:${id}/${attempt}`) % 100 === 0;
}

interface Message {
  readonly id: string;
  attempts: number;
  /** 250 replies the client received, with their queue IDs. */
  readonly accepted: Array<{ queueId: string; attempt: number; line: string }>;
}

interface Tally {
  dataReplies: number;
  byCode: Record<string, number>;
  abandoned: Array<{ id: string; attempt: number }>;
  /** Final dot sent, then the connection closed with no reply (not abandoned by us). */
  lostAfterDot: Array<{ id: string; attempt: number }>;
  refusedBeforeData: number;
  connectFailures: number;
  sessions: number;
  greeting421: number;
}

type LogLine = Record<string, unknown> & { daemon: number };

class Daemon {
  readonly logs: LogLine[];
  readonly child: ChildProcess;
  readonly listening: Promise<void>;
  /** Distinct stderr lines (warnings from Node, say), reported at the end. */
  readonly stderr = new Set<string>();

  constructor(configFile: string, index: number, logs: LogLine[]) {
    this.logs = logs;
    this.child = spawn(process.execPath, [CLI, '-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stderr as NodeJS.ReadableStream }).on('line', (line) =>
      this.stderr.add(line.replace(/^\(node:\d+\) /, '')),
    );
    const lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream });
    this.listening = new Promise((resolve, reject) => {
      lines.on('line', (line) => {
        const entry: LogLine = { ...(JSON.parse(line) as Record<string, unknown>), daemon: index };
        logs.push(entry);
        if (entry.msg === 'listening') resolve();
      });
      this.child.once('exit', (code) => reject(new Error(`daemon ${index} exited with ${code} before listening`)));
    });
  }

  async stop(): Promise<number | null> {
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    return code;
  }
}

/** One session of the raw test client, aware that the server may close it at any time. */
class Session {
  #closed = false;

  private constructor(readonly client: SmtpClient) {
    void client.closed.then(() => (this.#closed = true));
  }

  /** Connects and says EHLO; null when refused, closed, or greeted with 421. */
  static async open(port: number, tally: Tally): Promise<Session | null> {
    let client: SmtpClient;
    try {
      client = await SmtpClient.connect(port);
    } catch {
      tally.connectFailures += 1;
      return null;
    }
    const session = new Session(client);
    const greeting = await session.next();
    if (greeting === 'closed' || greeting.code !== 220) {
      if (greeting !== 'closed' && greeting.code === 421) tally.greeting421 += 1;
      client.destroy();
      return null;
    }
    const ehlo = await session.command('EHLO ledger.client.test');
    if (ehlo === 'closed' || ehlo.code !== 250) {
      client.destroy();
      return null;
    }
    tally.sessions += 1;
    return session;
  }

  /** The next reply, or 'closed' once the server has gone without sending one. */
  next(): Promise<Reply | 'closed'> {
    if (this.#closed) {
      // A reply may still sit in the client's queue: ask with a timeout that cannot hurt.
      return Promise.race([this.client.reply(1), new Promise<'closed'>((resolve) => setTimeout(resolve, 5, 'closed'))]).catch(
        () => 'closed' as const,
      );
    }
    return Promise.race([this.client.reply(REPLY_TIMEOUT_MS), this.client.closed.then(() => 'closed' as const)]);
  }

  command(line: string): Promise<Reply | 'closed'> {
    this.client.write(`${line}\r\n`);
    return this.next();
  }

  get closed(): boolean {
    return this.#closed;
  }
}

function bodyOf(message: Message, attempt: number, action: Action): string {
  return [
    `Message-ID: <${message.id}@ledger.test>`,
    `X-Ledger-Id: ${message.id}`,
    `X-Ledger-Attempt: ${attempt}`,
    `X-Ledger-Action: ${action}`,
    `Subject: ledger ${message.id} attempt ${attempt}`,
    '',
    `Body of ${message.id}.`,
    '.a line that needs dot-stuffing',
    '',
  ].join('\r\n');
}

/**
 * One attempt at one message: 'delivered' (250), 'refused' (any other reply, the
 * session goes on), or 'gone' (the session is over: 421, closed, or abandoned by us).
 */
async function sendOnce(session: Session, message: Message, tally: Tally): Promise<'delivered' | 'refused' | 'gone'> {
  message.attempts += 1;
  const attempt = message.attempts;
  const action = actionFor(message.id, attempt);
  for (const line of ['MAIL FROM:<ledger@origin.test>', `RCPT TO:<${message.id}@ledger.test>`, 'DATA']) {
    const reply = await session.command(line);
    const expected = line === 'DATA' ? 354 : 250;
    if (reply === 'closed' || reply.code !== expected) {
      tally.refusedBeforeData += 1;
      if (reply === 'closed' || reply.code === 421) return 'gone';
      await session.command('RSET');
      return 'refused';
    }
  }
  session.client.write(`${dotStuff(bodyOf(message, attempt, action))}.\r\n`);
  if (abandons(message.id, attempt)) {
    tally.abandoned.push({ id: message.id, attempt });
    session.client.destroy();
    return 'gone';
  }
  const reply = await session.next();
  if (reply === 'closed') {
    tally.lostAfterDot.push({ id: message.id, attempt });
    return 'gone';
  }
  tally.dataReplies += 1;
  tally.byCode[reply.code] = (tally.byCode[reply.code] ?? 0) + 1;
  if (reply.code === 250) {
    const queueId = /^250 2\.0\.0 Ok: queued as ([0-9A-Z]+)$/.exec(reply.line)?.[1];
    assert.ok(queueId, reply.line);
    message.accepted.push({ queueId, attempt, line: reply.line });
    return 'delivered';
  }
  // 421 after a real reply is the drain closing the session: the session is over.
  return reply.code === 421 ? 'gone' : 'refused';
}

test('ledger: 2,000 messages, SIGTERM and restart midway: every message exactly one 250, every 250 one exit-0 run', async (t) => {
  const started = performance.now();
  const dir = await scratchDir();
  const ledgerFile = path.join(dir, 'ledger');
  await writeFile(ledgerFile, '');
  const port = await freePort();
  const configFile = path.join(dir, 'smtpipe.conf');
  await writeFile(
    configFile,
    `
    Shutdown_Timeout = 10
    ESMTP_Listener { Listen "127.0.0.1:${port}" { } }
    pipe_transport "ledger" {
      allow_root = true
      program_name = "${fixture('programs', 'ledger.sh')} ${ledgerFile} 10"
      domain = ( "ledger.test" )
      timeout = 4
      concurrency = 32
      received_header = false
      code = [ 111 = "${MAPPED_111}" ]
    }
  `,
  );

  const logs: LogLine[] = [];
  let daemon = new Daemon(configFile, 1, logs);
  await daemon.listening;
  const daemons = [daemon];

  const messages: Message[] = Array.from({ length: MESSAGES }, (_, i) => ({
    id: `L${String(i).padStart(5, '0')}`,
    attempts: 0,
    accepted: [],
  }));
  const tally: Tally = {
    dataReplies: 0,
    byCode: {},
    abandoned: [],
    lostAfterDot: [],
    refusedBeforeData: 0,
    connectFailures: 0,
    sessions: 0,
    greeting421: 0,
  };

  // The restart: SIGTERM once STOP_AT of the messages got a reply; clients meanwhile
  // find the port closed and retry, as a real client would.
  let restart: Promise<void> | undefined;
  let drain: { exitCode: number | null; ms: number } | undefined;
  const maybeRestart = () => {
    if (restart !== undefined || tally.dataReplies < MESSAGES * STOP_AT) return;
    restart = (async () => {
      const stopAt = performance.now();
      const exitCode = await daemon.stop();
      drain = { exitCode, ms: Math.round(performance.now() - stopAt) };
      daemon = new Daemon(configFile, 2, logs);
      daemons.push(daemon);
      await daemon.listening;
    })();
  };

  const openWithRetry = async (): Promise<Session> => {
    const deadline = performance.now() + 30000;
    for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
      const session = await Session.open(port, tally);
      if (session) return session;
      if (performance.now() > deadline) throw new Error('could not reach the daemon for 30 s');
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  };

  let rounds = 0;
  for (let pending = messages; pending.length > 0; pending = messages.filter((m) => m.accepted.length === 0)) {
    rounds += 1;
    assert.ok(rounds <= MAX_ROUNDS, `${pending.length} messages still without a 250 after ${MAX_ROUNDS} rounds`);
    const queue = [...pending];
    await Promise.all(
      Array.from({ length: Math.min(CONNECTIONS, queue.length) }, async () => {
        let session: Session | null = null;
        for (let message = queue.shift(); message !== undefined; message = queue.shift()) {
          session ??= await openWithRetry();
          const result = await sendOnce(session, message, tally);
          maybeRestart();
          if (result === 'gone' || session.closed) {
            session.client.destroy();
            session = null;
          }
        }
        if (session) await session.command('QUIT');
      }),
    );
  }
  await restart;
  const finalExit = await daemons[daemons.length - 1]?.stop();

  // ---- the witnesses -------------------------------------------------------------
  const ledger = (await readFile(ledgerFile, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, attempt, action, queueId, pid] = line.split(' ');
      return { id: id as string, attempt: Number(attempt), action: action as Action, queueId: queueId as string, pid: Number(pid) };
    });
  const deliveries = logs.filter((l) => l.msg === 'delivery' || String(l.msg).startsWith('delivery failed'));
  const deliveryByQueueId = new Map(deliveries.map((l) => [String(l.queueId), l]));
  const ledgerByQueueId = new Map(ledger.map((l) => [l.queueId, l]));
  assert.equal(deliveryByQueueId.size, deliveries.length, 'queue IDs are unique across both daemons');
  assert.equal(ledgerByQueueId.size, ledger.length, 'each run is recorded once');

  // Every run the ledger saw was logged as a delivery with the matching outcome, and the other way round.
  const expectedReply = (action: Action, queueId: string): string =>
    ({
      '0': `250 2.0.0 Ok: queued as ${queueId}`,
      '75': '504 5.5.0 pipe transport gave exit status 75',
      '100': '504 5.5.0 pipe transport gave exit status 100',
      '111': MAPPED_111,
      kill: '451 4.3.0 pipe transport program killed by signal SIGKILL',
      hang: '451 4.3.0 pipe transport program timed out after 4 s',
    })[action];
  for (const run of ledger) {
    const log = deliveryByQueueId.get(run.queueId);
    assert.ok(log, `run ${run.id}/${run.attempt} (${run.queueId}) has no delivery log line`);
    assert.equal(log.programPid, run.pid, `${run.queueId}: pid`);
    assert.equal(log.reply, expectedReply(run.action, run.queueId), `${run.queueId}: action ${run.action}`);
    assert.equal(run.action, actionFor(run.id, run.attempt), `${run.queueId}: the program did what the message said`);
  }
  assert.equal(deliveries.length, ledger.length, 'every delivery log line is a recorded run');

  // Every message exactly one 250; every 250 exactly one exit-0 run, logged with that reply.
  for (const message of messages) {
    assert.equal(message.accepted.length, 1, `${message.id} got ${message.accepted.length} 250 replies`);
    const [accepted] = message.accepted as [Message['accepted'][number]];
    const run = ledgerByQueueId.get(accepted.queueId);
    assert.ok(run, `${message.id}: 250 ${accepted.queueId} has no recorded run`);
    assert.deepEqual([run.id, run.attempt, run.action], [message.id, accepted.attempt, '0'], `${message.id}: the run behind its 250`);
    const log = deliveryByQueueId.get(accepted.queueId);
    assert.equal(log?.exitCode, 0);
    assert.equal(log?.reply, accepted.line, `${message.id}: the 250 sent is the one logged`);
  }

  // An exit-0 run without a 250 at the client: only where the client was gone before the reply.
  const acceptedQueueIds = new Set(messages.map((m) => m.accepted[0]?.queueId));
  const gone = new Set([...tally.abandoned, ...tally.lostAfterDot].map((a) => `${a.id}/${a.attempt}`));
  const unseenExit0 = ledger.filter((run) => run.action === '0' && !acceptedQueueIds.has(run.queueId));
  for (const run of unseenExit0) {
    assert.ok(gone.has(`${run.id}/${run.attempt}`), `exit-0 run ${run.id}/${run.attempt} (${run.queueId}) lacks a 250 but its client stayed`);
  }
  const abandonedRuns = ledger.filter((run) => gone.has(`${run.id}/${run.attempt}`)).length;
  assert.equal(deliveries.length, tally.dataReplies + abandonedRuns, 'every run answered a DATA the client saw, or one it walked away from');
  // The drain promised real replies to sessions in DATA: the server never cut one.
  assert.deepEqual(tally.lostAfterDot, [], 'final dot sent, connection closed without a reply');

  assert.ok(drain, 'the daemon was restarted');
  assert.equal(drain.exitCode, 0, 'the SIGTERM drain ended gracefully');
  assert.equal(finalExit, 0);
  const stopped = logs.filter((l) => l.msg === 'stopped').map((l) => l.result);
  assert.deepEqual(stopped, ['graceful', 'graceful']);

  const runsByAction: Record<string, number> = {};
  for (const run of ledger) runsByAction[run.action] = (runsByAction[run.action] ?? 0) + 1;
  const attempts = messages.reduce((sum, m) => sum + m.attempts, 0);
  t.diagnostic(`messages ${MESSAGES}, connections ${CONNECTIONS}, rounds ${rounds}, attempts ${attempts}, sessions ${tally.sessions}`);
  t.diagnostic(`program runs ${ledger.length} by action ${JSON.stringify(runsByAction)}; delivery log lines ${deliveries.length}`);
  t.diagnostic(`DATA replies ${tally.dataReplies} by code ${JSON.stringify(tally.byCode)}; 250s received ${messages.length}`);
  t.diagnostic(
    `client gone after the dot: ${tally.abandoned.length} (${abandonedRuns} of them ran; ${unseenExit0.length} exit-0 runs without a 250 = duplicates)`,
  );
  t.diagnostic(
    `restart: SIGTERM after ${Math.round(MESSAGES * STOP_AT)} replies, drain ${drain.ms} ms, exit ${drain.exitCode}; ` +
      `refused before DATA ${tally.refusedBeforeData}, connect failures ${tally.connectFailures}, 421 greetings ${tally.greeting421}`,
  );
  const drainedLogs = logs.filter((l) => l.daemon === 1);
  const drainingAt = drainedLogs.findIndex((l) => l.msg === 'draining');
  const finishedInDrain = drainedLogs.slice(drainingAt).filter((l) => l.msg === 'delivery').length;
  const connectionErrors = logs.filter((l) => l.msg === 'smtp connection error').map((l) => (l.err as { code?: string } | undefined)?.code);
  t.diagnostic(`daemon 'smtp connection error' lines: ${connectionErrors.length} ${JSON.stringify(connectionErrors.slice(0, 5))}`);
  t.diagnostic(`deliveries in flight at SIGTERM that finished during the drain: ${finishedInDrain}`);
  for (const [i, d] of daemons.entries()) for (const line of d.stderr) t.diagnostic(`daemon ${i + 1} stderr: ${line}`);
  t.diagnostic(`wall time ${Math.round(performance.now() - started)} ms`);
});
