// This process's listening TCP sockets as the kernel lists them (/proc/net/tcp), for tests
// of what holds an address: the daemon runs in the test process, so its sockets are ours.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** Inodes of the IPv4 sockets in LISTEN state on `port`, whichever process holds them. */
export function listeningInodes(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((row) => row.trim().split(/\s+/))
    .filter((fields) => fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A')
    .map((fields) => fields[9] ?? '');
}

/** The descriptor of this process's socket listening on `port`. */
export function listeningFd(port: number): number {
  const targets = new Set(listeningInodes(port).map((inode) => `socket:[${inode}]`));
  for (const fd of readdirSync('/proc/self/fd')) {
    let target = '';
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the descriptor readdir itself used, closed since
    }
    if (targets.has(target)) return Number(fd);
  }
  throw new Error(`no socket of this process listens on port ${port}`);
}
