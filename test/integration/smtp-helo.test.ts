// HELO/EHLO names real clients send still work now that the argument must be a domain or
// an address literal (RFC 5321 4.1.1.1); the name reaches the program as ${client_helo}.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { SmtpClient } from '../helpers/smtp-client.js';

let daemon: TestDaemon;
const queued = (line: string) => /queued as ([0-9A-Z]+)$/.exec(line)?.[1] as string;

before(async () => {
  daemon = await startDaemon(`
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "args" {
      allow_root = true
      program_name = "${fixture('programs', 'print-args.sh')} {{dir}}/\${queue_id}.args \${client_helo} \${recipients}"
      domain = ( "args.test" )
    }
  `);
});
after(() => daemon.stop());

/** The arguments the program got for the message the reply line names. */
const argsOf = async (line: string) => (await readFile(path.join(daemon.dir, `${queued(line)}.args`), 'utf8')).split('\n').filter(Boolean);

// [argument as sent, as the program gets it (smtp-server lower-cases it)]
const heloCases: Array<[string, string]> = [
  ['localhost', 'localhost'],
  ['[127.0.0.1]', '[127.0.0.1]'],
  ['[IPv6:::1]', '[ipv6:::1]'],
  ['mail.example.com', 'mail.example.com'],
  ['mail.example.com.', 'mail.example.com.'],
  ['my_pc', 'my_pc'],
  ['DESKTOP-4F2K9Q1', 'desktop-4f2k9q1'],
  ['192.0.2.1', '192.0.2.1'],
];

for (const verb of ['EHLO', 'HELO']) {
  for (const [argument, seen] of heloCases) {
    test(`${verb} ${argument}: accepted, the program gets ${seen}`, async () => {
      const client = await SmtpClient.connect(daemon.port);
      assert.equal((await client.reply()).code, 220);
      assert.equal((await client.command(`${verb} ${argument}`)).code, 250);
      const reply = await client.sendMail('a@origin.test', ['x@args.test'], 'hi');
      assert.equal(reply.code, 250);
      await client.quit();
      assert.deepEqual(await argsOf(reply.line), [seen, 'x@args.test']);
    });
  }
}

const refused = ['', 'a b', '-x', 'a..b', 'bücher.example', '[1.2.3.4', '[x400:foo]', 'a;id'];
for (const argument of refused) {
  test(`EHLO ${JSON.stringify(argument)}: 501 5.5.2`, async () => {
    const client = await SmtpClient.connect(daemon.port);
    await client.reply();
    assert.equal((await client.command(`EHLO ${argument}`)).line, '501 5.5.2 syntax error in HELO/EHLO argument: domain or address literal required');
    // The session goes on: a valid EHLO then works.
    assert.equal((await client.command('EHLO client.test')).code, 250);
    await client.quit();
  });
}

test('nodemailer with its default name (this host, or [127.0.0.1]) delivers', async () => {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: daemon.port, secure: false, ignoreTLS: true });
  try {
    const info = await transport.sendMail({ from: 'a@origin.test', to: 'x@args.test', subject: 's', text: 'hi' });
    const args = await argsOf(info.response);
    assert.equal(args.length, 2);
    assert.equal(args[1], 'x@args.test');
  } finally {
    transport.close();
  }
});

const python = spawnSync('python3', ['-c', 'import smtplib'], { stdio: 'ignore' }).status === 0;

test('python3 smtplib with its default name (socket.getfqdn(), or [address]) delivers', { skip: !python && 'no python3' }, async () => {
  const script = [
    'import smtplib, sys',
    's = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))',
    'code, text = s.ehlo()',
    'assert code == 250, (code, text)',
    's.sendmail("a@origin.test", ["x@args.test"], b"Subject: s\\r\\n\\r\\nhi\\r\\n")',
    'print(s.local_hostname)',
    's.quit()',
  ].join('\n');
  const logged = daemon.logs.length;
  // Asynchronous: the daemon runs in this process and must answer meanwhile.
  const child = spawn('python3', ['-c', script, String(daemon.port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(status, 0);
  const name = out.trim().toLowerCase();
  const delivered = daemon.logs.slice(logged).filter((line) => line.msg === 'delivery' && line.helo === name);
  assert.equal(delivered.length, 1, `one delivery from ${name}`);
});
