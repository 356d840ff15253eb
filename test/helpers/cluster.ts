// What the Processes > 1 tests share: the primary's children, a message sent on its own
// connection (as a relay does), and the front end that logged its delivery.
import { readFileSync } from 'node:fs';
import type { RunningCli } from './cli.js';
import { SmtpClient } from './smtp-client.js';

/** The pids of the primary's children (its front ends, and orphans not yet killed). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').split(' ').filter(Boolean).map(Number);
  } catch {
    return []; // Handled: the process is gone, so it has no children.
  }
}

/**
 * One message on one connection: the reply to the final dot, or null when the connection
 * failed or closed first (a front end killed under it).
 */
export async function sendOne(port: number, to: string, headers = ''): Promise<{ code: number; line: string } | null> {
  let client: SmtpClient | undefined;
  try {
    client = await SmtpClient.connect(port);
    const greeting = await client.reply(10_000);
    if (greeting.code !== 220) return greeting;
    const ehlo = await client.command('EHLO client.test');
    if (ehlo.code !== 250) return ehlo;
    const reply = await Promise.race([client.sendMail('a@sender.test', [to], `${headers}Subject: t\r\n\r\nbody\r\n`), client.closed.then(() => null)]);
    client.write('QUIT\r\n');
    return reply;
  } catch {
    return null; // Handled: a refused or reset connection is what the caller retries.
  } finally {
    client?.destroy();
  }
}

/** The pids of the front ends that logged a delivery through `transport`. */
export function deliveringPids(cli: RunningCli, transport: string): Set<number> {
  return new Set(cli.logs.filter((l) => l.msg === 'delivery' && l.transport === transport).map((l) => Number(l.pid)));
}
