// Model-based property of one SMTP session against a real in-process daemon: random
// command sequences (EHLO, MAIL, RCPT, DATA, RSET, NOOP), each command's bytes split at
// random points and written chunk by chunk. Invariants: every reply code is the model's;
// program runs == 250 replies to DATA; each delivered body is the dot-unstuffed input in
// the transport's line ending. Bodies hold no bare CR or LF (their policy is separate).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';

interface Model {
  ehlo: boolean;
  mail: boolean;
  transport: 'rec' | 'alt' | null;
  rcpts: number;
}

interface Real {
  client: ChunkClient;
  dir: string;
  data250: number;
}

/** Raw client with Nagle off, so separate writes leave as separate segments. */
class ChunkClient {
  readonly #socket: net.Socket;
  #buffer = '';
  #lines: string[] = [];
  readonly #replies: string[] = [];
  readonly #waiters: Array<(line: string) => void> = [];

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (data: string) => {
      this.#buffer += data;
      let index: number;
      while ((index = this.#buffer.indexOf('\r\n')) !== -1) {
        const line = this.#buffer.slice(0, index);
        this.#buffer = this.#buffer.slice(index + 2);
        this.#lines.push(line);
        if (/^\d{3}-/.test(line)) continue;
        this.#lines = [];
        const waiter = this.#waiters.shift();
        if (waiter) waiter(line);
        else this.#replies.push(line);
      }
    });
    socket.on('error', () => {});
  }

  static connect(port: number): Promise<ChunkClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new ChunkClient(socket)));
      socket.once('error', reject);
    });
  }

  /** The last line of the next reply. */
  reply(): Promise<string> {
    const queued = this.#replies.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no SMTP reply in time')), 10000);
      this.#waiters.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  }

  /** Writes `bytes` split at `cuts` (positions taken modulo the length), a tick apart. */
  async send(bytes: Buffer, cuts: readonly number[]): Promise<void> {
    const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    let from = 0;
    for (const at of [...points, bytes.length]) {
      if (at > from) {
        this.#socket.write(bytes.subarray(from, at));
        await new Promise((resolve) => setImmediate(resolve));
      }
      from = at;
    }
  }

  async sendAndReply(line: string, cuts: readonly number[]): Promise<string> {
    await this.send(Buffer.from(`${line}\r\n`, 'latin1'), cuts);
    return this.reply();
  }

  close(): void {
    this.#socket.end('QUIT\r\n');
  }
}

let daemon: TestDaemon;

before(async () => {
  const copy = (eol: string) => `program_name = "${fixture('programs', 'cat-to-file.sh')} {{dir}}/\${queue_id}.eml" eol = ${eol} received_header = false`;
  daemon = await startDaemon(`
    Pool_Threads = 1
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "rec" { allow_root = true ${copy('lf')} domain = ( "rec.test" "rec2.test" ) }
    pipe_transport "alt" { allow_root = true ${copy('crlf')} domain = ( "alt.test" ) }
  `);
});
after(() => daemon.stop());

const cuts = fc.array(fc.nat({ max: 4096 }), { maxLength: 4 });
const code = (line: string) => Number(line.slice(0, 3));

class Ehlo implements fc.AsyncCommand<Model, Real> {
  constructor(readonly cuts: number[]) {}
  check = () => true;
  async run(m: Model, r: Real) {
    assert.equal(code(await r.client.sendAndReply('EHLO client.test', this.cuts)), 250);
    Object.assign(m, { ehlo: true, mail: false, transport: null, rcpts: 0 });
  }
  toString = () => 'EHLO';
}

type SenderKind = 'valid' | 'syntax' | 'policy';

/** smtp-server checks, in order: EHLO seen, syntax (501), nested MAIL (503); then our policy. */
const SENDERS: Record<SenderKind, string[]> = {
  valid: ['a@origin.test', '', 'first.last+tag@sub.origin.test', 'Mixed@Origin.Test', 'x@[192.0.2.1]'],
  syntax: ['-', 'no domain', 'a@@origin.test'],
  // docs/operations.md: addresses beginning with "-" get 553 5.1.7 (sender).
  policy: ['-oops@origin.test', '--help@origin.test'],
};

class Mail implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly sender: string,
    readonly kind: SenderKind,
    readonly cuts: number[],
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const line = await r.client.sendAndReply(`MAIL FROM:<${this.sender}>`, this.cuts);
    if (!m.ehlo) return assert.equal(code(line), 503, line);
    if (this.kind === 'syntax') return assert.equal(code(line), 501, line);
    if (m.mail) return assert.equal(code(line), 503, line);
    if (this.kind === 'policy') return assert.match(line, /^553 5\.1\.7 /);
    assert.equal(code(line), 250, line);
    m.mail = true;
  }
  toString = () => `MAIL FROM:<${this.sender}>`;
}

const RECIPIENTS: Record<string, 'rec' | 'alt' | 'unserved' | 'invalid' | 'syntax'> = {
  'x@rec.test': 'rec',
  'a b@rec.test': 'syntax',
  'Y@REC2.test': 'rec',
  'z@alt.test': 'alt',
  'u@unserved.test': 'unserved',
  '-r@rec.test': 'invalid',
};

class Rcpt implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly recipient: string,
    readonly cuts: number[],
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const line = await r.client.sendAndReply(`RCPT TO:<${this.recipient}>`, this.cuts);
    const kind = RECIPIENTS[this.recipient];
    if (!m.ehlo) return assert.equal(code(line), 503, line);
    if (kind === 'syntax') return assert.equal(code(line), 501, line);
    if (!m.mail) return assert.equal(code(line), 503, line);
    if (kind === 'invalid') return assert.match(line, /^553 5\.1\.3 /);
    if (kind === 'unserved') return assert.equal(line, '550 5.7.1 relaying denied');
    if (m.transport !== null && m.transport !== kind) return assert.match(line, /^452 4\.5\.3 /);
    assert.equal(code(line), 250, line);
    m.transport = kind === 'alt' ? 'alt' : 'rec';
    m.rcpts += 1;
  }
  toString = () => `RCPT TO:<${this.recipient}>`;
}

class Data implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly lines: string[],
    readonly commandCuts: number[],
    readonly bodyCuts: number[],
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const line = await r.client.sendAndReply('DATA', this.commandCuts);
    if (!m.ehlo || m.rcpts === 0) return assert.equal(code(line), 503, line);
    assert.equal(code(line), 354, line);
    const wire = this.lines.map((l) => (l.startsWith('.') ? `.${l}` : l) + '\r\n').join('') + '.\r\n';
    await r.client.send(Buffer.from(wire, 'latin1'), this.bodyCuts);
    const reply = await r.client.reply();
    const queueId = /^250 2\.0\.0 Ok: queued as ([0-9A-Z]+)$/.exec(reply)?.[1];
    assert.ok(queueId !== undefined, reply);
    r.data250 += 1;
    const eol = m.transport === 'alt' ? '\r\n' : '\n';
    const expected = Buffer.from(this.lines.map((l) => l + eol).join(''), 'latin1');
    assert.deepEqual(await readFile(path.join(r.dir, `${queueId}.eml`)), expected);
    Object.assign(m, { mail: false, transport: null, rcpts: 0 });
  }
  toString = () => `DATA ${JSON.stringify(this.lines)} cuts ${JSON.stringify(this.bodyCuts)}`;
}

class Simple implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly verb: 'RSET' | 'NOOP',
    readonly cuts: number[],
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    assert.equal(code(await r.client.sendAndReply(this.verb, this.cuts)), 250);
    if (this.verb === 'RSET') Object.assign(m, { mail: false, transport: null, rcpts: 0 });
  }
  toString = () => this.verb;
}

/** Any byte but CR and LF: 8-bit content and NULs included. */
const lineByte = fc.integer({ min: 0, max: 255 }).filter((b) => b !== 10 && b !== 13).map((b) => String.fromCharCode(b));
const bodyLine = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: lineByte, maxLength: 60 }) },
  { weight: 2, arbitrary: fc.string({ unit: lineByte, maxLength: 20 }).map((s) => `.${s}`) },
  { weight: 1, arbitrary: fc.constantFrom('.', '..', '', ' .', '.\t') },
);

const ehlo = cuts.map((c) => new Ehlo(c));
const mail = fc.tuple(fc.nat({ max: 5 }), fc.nat(), cuts).map(([k, i, c]) => {
  // Two in three senders are valid: transactions must get far enough to deliver.
  const kind: SenderKind = k < 4 ? 'valid' : k === 4 ? 'syntax' : 'policy';
  return new Mail(SENDERS[kind][i % SENDERS[kind].length] as string, kind, c);
});
const rcpt = fc.tuple(fc.constantFrom(...Object.keys(RECIPIENTS)), cuts).map(([to, c]) => new Rcpt(to, c));
const data = fc.tuple(fc.array(bodyLine, { maxLength: 12 }), cuts, cuts).map(([lines, c, b]) => new Data(lines, c, b));
const simple = fc.tuple(fc.constantFrom('RSET' as const, 'NOOP' as const), cuts).map(([verb, c]) => new Simple(verb, c));
// fc.commands picks uniformly among its arbitraries: listing MAIL, RCPT and DATA twice
// makes whole transactions common while every order stays possible.
const commands = fc.commands([ehlo, mail, mail, rcpt, rcpt, rcpt, data, data, data, simple], { maxCommands: 30, size: 'max' });

test('SMTP session model: replies, program runs == DATA 250s, bodies dot-unstuffed', async (t) => {
  let sessions = 0;
  let delivered = 0;
  let commandsRun = 0;
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: 3 }), commands, async (greet, cmds) => {
      const client = await ChunkClient.connect(daemon.port);
      assert.equal(code(await client.reply()), 220);
      // Most sessions start with EHLO, as clients do; the others test the 503s before it.
      if (greet > 0) assert.equal(code(await client.sendAndReply('EHLO start.test', [])), 250);
      const real: Real = { client, dir: daemon.dir, data250: 0 };
      const logsBefore = daemon.logs.length;
      try {
        const model: Model = { ehlo: greet > 0, mail: false, transport: null, rcpts: 0 };
        await fc.asyncModelRun(() => ({ model, real }), cmds);
      } finally {
        client.close();
      }
      const runs = daemon.logs.slice(logsBefore).filter((l) => l.msg === 'delivery');
      assert.equal(runs.length, real.data250, 'program runs == 250 replies to DATA');
      assert.ok(runs.every((l) => l.exitCode === 0));
      sessions += 1;
      commandsRun += [...cmds].length;
      delivered += real.data250;
    }),
    { seed: 0x5e55, numRuns: 40 },
  );
  t.diagnostic(`${sessions} sessions, ${commandsRun} commands, ${delivered} messages delivered and compared`);
  assert.ok(delivered >= 20, 'the generator reaches DATA often enough to mean something');
});
