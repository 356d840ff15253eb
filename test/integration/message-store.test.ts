// The message store on real files: memory below Spool_Threshold and within the budget,
// a nameless spool file otherwise, exact bytes either way, nothing left in the directory,
// the budget given back, and a full disk (a real tmpfs) as a clean failure.
import assert from 'node:assert/strict';
import { readdir, readFile, rm } from 'node:fs/promises';
import fs from 'node:fs';
import { test } from 'node:test';
import { createMessageStore, type MessageFormat, type MessageStore, type Received } from '../../src/message/message-store.js';
import { javascriptScans } from '../../src/message/line-endings.js';
import { createSpool } from '../../src/message/spool-file.js';
import { scratchDir } from '../helpers/daemon.js';
import { mountTmpfs } from '../helpers/tmpfs.js';

const CRLF_REJECT: MessageFormat = { eol: 'crlf', bareNewlines: 'reject', header: '', declaredBytes: 0 };

interface Counted {
  spooled: number[];
  failed: string[];
}

function newStore(directory: string, memoryBytes: number, thresholdBytes: number, now?: () => number): { store: MessageStore; seen: Counted } {
  const seen: Counted = { spooled: [], failed: [] };
  const store = createMessageStore({
    limits: { memoryBytes, thresholdBytes },
    spool: createSpool(directory),
    scans: javascriptScans,
    observer: { spooled: (bytes) => seen.spooled.push(bytes), spoolFailed: (code) => seen.failed.push(code) },
    now,
  });
  return { store, seen };
}

/** Sends `message` in chunks of `chunkBytes`, honouring backpressure, and finishes. */
async function receive(store: MessageStore, message: Buffer, format: MessageFormat = CRLF_REJECT, chunkBytes = 16 * 1024): Promise<Received> {
  const receiver = store.receive(format);
  for (let at = 0; at < message.length; at += chunkBytes) {
    if (!receiver.write(Buffer.from(message.subarray(at, at + chunkBytes)))) await receiver.writable();
  }
  return receiver.finish();
}

/** What the program would read: the bytes, or the file through a descriptor of its own. */
async function contentOf(received: Received): Promise<{ kind: 'bytes' | 'file'; bytes: Buffer }> {
  assert.equal(received.kind, 'stored');
  if (received.kind !== 'stored') throw new Error('not stored');
  const { message } = received;
  if (message.kind === 'bytes') return { kind: 'bytes', bytes: Buffer.from(message.bytes) };
  return { kind: 'file', bytes: await readFile(`/proc/self/fd/${message.fd}`) };
}

/** `bytes` bytes of CRLF-ended lines (the last one padded to fit). */
function lines(bytes: number): Buffer {
  const line = 'a line of a message, CRLF ended\r\n';
  const whole = line.repeat(Math.floor((bytes - 2) / line.length));
  return Buffer.from(whole + 'x'.repeat(bytes - 2 - whole.length) + '\r\n', 'latin1');
}

test('below and at Spool_Threshold in memory, above it in a nameless file; bytes exact, nothing left behind', async () => {
  const dir = await scratchDir();
  const { store, seen } = newStore(dir, 64 << 20, 4096);
  for (const [size, kind] of [[4095, 'bytes'], [4096, 'bytes'], [4097, 'file']] as const) {
    const message = lines(size);
    const received = await receive(store, message, CRLF_REJECT, 1000);
    const content = await contentOf(received);
    assert.equal(content.kind, kind, `${size} bytes`);
    assert.ok(content.bytes.equals(message), `${size} bytes arrive exact`);
    // Nameless: the directory never shows it.
    assert.deepEqual(await readdir(dir), []);
    if (received.kind === 'stored') received.message.release();
  }
  assert.deepEqual(seen.spooled, [4097]);
  assert.equal(store.stats.memoryBytes, 0);
  assert.equal(store.stats.spooledBytes, 0);
  await rm(dir, { recursive: true });
});

test('the spool file is 0600, owned by the daemon, and freed by release()', async () => {
  const dir = await scratchDir();
  const { store } = newStore(dir, 64 << 20, 0);
  const received = await receive(store, lines(10_000));
  assert.ok(received.kind === 'stored' && received.message.kind === 'file');
  const { fd } = received.message;
  const info = fs.fstatSync(fd);
  assert.equal(info.mode & 0o777, 0o600);
  assert.equal(info.uid, process.getuid?.());
  assert.equal(info.nlink, 0, 'no name in any directory');
  assert.match(fs.readlinkSync(`/proc/self/fd/${fd}`), /\(deleted\)$/);
  received.message.release();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.throws(() => fs.fstatSync(fd), { code: 'EBADF' });
  await rm(dir, { recursive: true });
});

test('past Max_Memory_In_Flight a small message is spooled; the budget comes back on release', async () => {
  const dir = await scratchDir();
  const { store } = newStore(dir, 3000, 1 << 20);
  const first = await receive(store, lines(2000));
  assert.equal((await contentOf(first)).kind, 'bytes');
  assert.equal(store.stats.memoryBytes, 2000);
  const second = await receive(store, lines(2000));
  const content = await contentOf(second);
  assert.equal(content.kind, 'file', 'the budget had 1000 bytes left');
  assert.ok(content.bytes.equals(lines(2000)));
  // Moving to the spool gave back what the second message had held in memory.
  assert.equal(store.stats.memoryBytes, 2000);
  if (first.kind === 'stored') first.message.release();
  if (second.kind === 'stored') second.message.release();
  assert.equal(store.stats.memoryBytes, 0);
  const third = await receive(store, lines(2000));
  assert.equal((await contentOf(third)).kind, 'bytes', 'memory again once released');
  if (third.kind === 'stored') third.message.release();
  await rm(dir, { recursive: true });
});

test('a SIZE declared above the threshold spools from the first byte: memory is never charged', async () => {
  const dir = await scratchDir();
  const { store } = newStore(dir, 64 << 20, 4096);
  const receiver = store.receive({ ...CRLF_REJECT, declaredBytes: 1 << 20 });
  receiver.write(Buffer.from('Subject: x\r\n\r\n'));
  assert.equal(store.stats.memoryBytes, 0);
  const received = await receiver.finish();
  assert.equal((await contentOf(received)).kind, 'file');
  if (received.kind === 'stored') received.message.release();
  await rm(dir, { recursive: true });
});

test('a declared SIZE is charged whole while in memory: announcing 1 MB and sending 1 byte holds the budget', async () => {
  const dir = await scratchDir();
  const { store } = newStore(dir, 1 << 20, 1 << 20);
  const receiver = store.receive({ ...CRLF_REJECT, declaredBytes: 900_000 });
  receiver.write(Buffer.from('x'));
  assert.equal(store.stats.memoryBytes, 900_000);
  receiver.discard();
  assert.equal(store.stats.memoryBytes, 0);
  await rm(dir, { recursive: true });
});

test('trace headers come first and line endings are converted as the bytes arrive', async () => {
  const dir = await scratchDir();
  const { store } = newStore(dir, 64 << 20, 100);
  const format: MessageFormat = { eol: 'lf', bareNewlines: 'reject', header: 'Received: from x\n', declaredBytes: 0 };
  const received = await receive(store, lines(5000), format, 7);
  const content = await contentOf(received);
  assert.equal(content.kind, 'file');
  assert.equal(content.bytes.toString('latin1'), `Received: from x\n${lines(5000).toString('latin1').replaceAll('\r\n', '\n')}`);
  if (received.kind === 'stored') received.message.release();
  await rm(dir, { recursive: true });
});

test('a bare LF under reject: content-rejected, and neither memory nor file is kept', async () => {
  const dir = await scratchDir();
  const { store } = newStore(dir, 64 << 20, 100);
  const received = await receive(store, Buffer.concat([lines(3000), Buffer.from('bare\nLF\r\n')]), CRLF_REJECT, 500);
  assert.equal(received.kind, 'content-rejected');
  assert.equal(store.stats.memoryBytes, 0);
  await rm(dir, { recursive: true });
});

test('discard while spooling closes the file: no descriptor is left open', async () => {
  const dir = await scratchDir();
  const { store } = newStore(dir, 64 << 20, 0);
  const before = fs.readdirSync('/proc/self/fd').length;
  for (let i = 0; i < 20; i += 1) {
    const receiver = store.receive(CRLF_REJECT);
    receiver.write(lines(300_000));
    receiver.discard();
  }
  // Closes wait for writes in flight to end.
  for (let i = 0; i < 50 && fs.readdirSync('/proc/self/fd').length > before; i += 1) await new Promise((r) => setTimeout(r, 20));
  assert.equal(fs.readdirSync('/proc/self/fd').length, before);
  assert.equal(store.stats.memoryBytes, 0);
  await rm(dir, { recursive: true });
});

test('a spool directory that went away: spool-failed with its errno, counted', async () => {
  const dir = await scratchDir();
  const { store, seen } = newStore(`${dir}/gone`, 64 << 20, 0);
  const received = await receive(store, lines(1000));
  assert.deepEqual(received, { kind: 'spool-failed', errorCode: 'ENOENT', wireBytes: 1000 });
  assert.deepEqual(seen.failed, ['ENOENT']);
  await rm(dir, { recursive: true });
});

test('a full disk (64 KiB tmpfs): ENOSPC for the message that does not fit, unhealthy, fine again once space returns', async (t) => {
  const tmpfs = await mountTmpfs(64);
  if (typeof tmpfs === 'string') return t.skip(tmpfs);
  let clock = 0;
  const { store, seen } = newStore(tmpfs.dir, 64 << 20, 0, () => clock);
  try {
    const holding = await receive(store, lines(40_000));
    assert.equal(holding.kind, 'stored', 'the first fits');
    const refused = await receive(store, lines(40_000));
    assert.equal(refused.kind, 'spool-failed');
    assert.equal(refused.kind === 'spool-failed' && refused.errorCode, 'ENOSPC');
    assert.deepEqual(seen.failed, ['ENOSPC']);
    assert.equal(store.spoolHealthy(), false);
    clock = 10_000;
    assert.equal(store.spoolHealthy(), true, 'not ready for 10 s at most: then traffic may try again');
    clock = 5_000;
    assert.equal(store.spoolHealthy(), false);
    if (holding.kind === 'stored') holding.message.release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const later = await receive(store, lines(40_000));
    const content = await contentOf(later);
    assert.ok(content.bytes.equals(lines(40_000)), 'space returned: the same message fits');
    assert.equal(store.spoolHealthy(), true, 'a spool write that succeeds ends the failing state');
    if (later.kind === 'stored') later.message.release();
    assert.deepEqual(await readdir(tmpfs.dir), []);
  } finally {
    await tmpfs.unmount();
  }
});
