// What the Processes > 1 tests share: the primary's children, a message sent on its own
// connection (as a relay does), and the front end that logged its delivery.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { RunningCli } from './cli.js';

/** The pids of the primary's children (its front ends, and orphans not yet killed). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').split(' ').filter(Boolean).map(Number);
  } catch {
    return []; // Handled: the process is gone, so it has no children.
  }
}

/**
 * One message on one connection, as a relay sends: the reply to the final dot (or the
 * first refusal), or null when the connection failed or closed first (a front end killed
 * under it). Its own small client: no timer outlives the exchange.
 */
export function sendOne(port: number, to: string, headers = '', timeoutMs = 20_000): Promise<{ code: number; line: string } | null> {
  const steps = ['EHLO client.test', 'MAIL FROM:<a@sender.test>', `RCPT TO:<${to}>`, 'DATA', `${headers}Subject: t\r\n\r\nbody\r\n.`];
  const expected = [220, 250, 250, 250, 354, 250];
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const timer = setTimeout(() => done(null), timeoutMs);
    let buffer = '';
    let step = 0;
    const done = (reply: { code: number; line: string } | null) => {
      clearTimeout(timer);
      if (reply !== null) socket.end('QUIT\r\n');
      socket.destroy();
      resolve(reply);
    };
    socket.setEncoding('latin1');
    socket.on('error', () => done(null));
    socket.on('close', () => done(null));
    socket.on('data', (data: string) => {
      buffer += data;
      for (let end = buffer.indexOf('\r\n'); end !== -1; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (/^\d{3}-/.test(line)) continue;
        const code = Number(line.slice(0, 3));
        if (code !== expected[step] || step === steps.length) return done({ code, line });
        socket.write(`${steps[step]}\r\n`);
        step += 1;
      }
    });
  });
}

/** The pids of the front ends that logged a delivery through `transport`. */
export function deliveringPids(cli: RunningCli, transport: string): Set<number> {
  return new Set(cli.logs.filter((l) => l.msg === 'delivery' && l.transport === transport).map((l) => Number(l.pid)));
}
