// The held-large group (issue 13's first target): 200 different 10 MB messages on 200
// sessions at once to a slow transport (concurrency 20) whose programs wait until every
// final dot is out, so the daemon holds all 200 at once; then each program hashes its stdin.
// Measures the daemon's peak RSS (VmHWM and sampled) and checks every delivery byte by byte.

import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildHeldMessages, checkDigests, parseDigests } from '../held-message.js';
import { countInTree } from '../measure.js';
import { SYSTEM } from '../names.js';
import { HELD_READER_SH } from '../paths.js';
import { runCommand, sleep } from '../processes.js';
import { MIB } from '../resources.js';
import { sendMessage, type SendOutcome } from '../smtp-sender.js';
import type { HeldLargeResult } from '../types.js';
import { describeError, SkipError, type BenchContext } from './context.js';
import { readMemory, startRssSampler, steadyRssMb, type RssSampler } from './rss-sampler.js';
import { startSmtpipe, type SpawnerChoice } from './smtpipe.js';
import { createFifoGate } from './fifo-gate.js';

/** The held programs' name in /proc (the kernel names a script after its file). */
const HELD_READER_COMM = 'held-reader.sh';

/** Copies the program into the scratch directory with its FIFO and an output file the programs (nobody) may append to. */
async function installHeldReader(ctx: BenchContext): Promise<{ script: string; fifo: string; output: string }> {
  const script = path.join(ctx.workDir, 'held-reader.sh');
  copyFileSync(HELD_READER_SH, script);
  chmodSync(script, 0o755);
  const fifo = path.join(ctx.workDir, 'held-release.fifo');
  const made = await runCommand('mkfifo', ['-m', '0604', fifo], { timeoutMs: 10_000 });
  if (made.code !== 0) throw new SkipError(`mkfifo failed: ${made.stderr.trim()}`);
  const output = path.join(ctx.workDir, 'held-digests.txt');
  writeFileSync(output, '');
  chmodSync(output, 0o666);
  return { script, fifo, output };
}

/** The slow transport's domain. */
function heldDomain(ctx: BenchContext): string {
  return `held.${ctx.domain}`;
}

export async function runHeldLargeScenario(ctx: BenchContext, spawner: SpawnerChoice | null): Promise<HeldLargeResult> {
  const { messages, sizeBytes, concurrency, holdTimeoutSeconds, replyTimeoutSeconds, maxMessageBytes, sampleIntervalMs } = ctx.plan.heldLarge;
  const system = SYSTEM.smtpipe(spawner ?? 'default');
  const built = buildHeldMessages(messages, sizeBytes, randomBytes(1 << 20));
  const empty: HeldLargeResult = {
    system,
    status: 'failed',
    note: null,
    messages,
    sizeBytes: built.sizeBytes,
    wireBytes: built.wireBytes,
    concurrency,
    allSentAfterSeconds: null,
    maxInFlight: 0,
    maxHeldPrograms: 0,
    baselineRssMb: null,
    peakRssMb: null,
    hwmRssMb: null,
    sampleIntervalMs,
    ok2xx: 0,
    failed: 0,
    byteExact: 0,
    corrupted: 0,
    seconds: 0,
  };
  ctx.log(`held-large, ${system}: ${messages} x ${(built.wireBytes / MIB).toFixed(1)} MB at c=${messages}, slow transport concurrency ${concurrency}`);
  let installed: Awaited<ReturnType<typeof installHeldReader>>;
  let started: Awaited<ReturnType<typeof startSmtpipe>>;
  try {
    installed = await installHeldReader(ctx);
    started = await startSmtpipe(ctx, system, {
      spawner,
      tag: 'held-large',
      // received_header off: the program's bytes are then exactly the message (eol "lf", the default).
      slow: { domain: heldDomain(ctx), program: `${installed.script} ${installed.fifo} ${installed.output}`, concurrency, receivedHeader: false },
      listener: { maxMessageBytes, listenerSessions: 2 * messages, maxSessionsPerClient: 0, poolMaxQueue: 2 * messages },
    });
  } catch (err) {
    const status = err instanceof SkipError ? 'skipped' : 'failed';
    ctx.note(`held-large, ${system}: ${status}: ${describeError(err)}`);
    return { ...empty, status, note: describeError(err) };
  }
  const { fifo, output } = installed;
  let sampler: RssSampler | null = null;
  const gate = createFifoGate(fifo);
  try {
    const pid = started.rootPid;
    await sleep(1000);
    const baselineRssMb = await steadyRssMb(pid);
    sampler = startRssSampler(pid, sampleIntervalMs);
    const t0 = performance.now();
    let dots = 0;
    let replies = 0;
    let maxInFlight = 0;
    const sends: Promise<SendOutcome>[] = [];
    for (let i = 0; i < messages; i++) {
      const send = sendMessage({
        port: started.port,
        from: 'bench@localhost',
        to: `r${i + 1}@${heldDomain(ctx)}`,
        parts: [built.commonWire, built.uniqueWire(i)],
        timeoutMs: replyTimeoutSeconds * 1000,
        onDotSent: () => {
          dots += 1;
          maxInFlight = Math.max(maxInFlight, dots - replies);
        },
      });
      sends.push(send.finally(() => (replies += 1)));
    }
    let finished = false;
    const all = Promise.all(sends).finally(() => (finished = true));
    // Hold every message until all are in flight (or every session ended, or time ran out).
    let maxHeldPrograms = 0;
    let allSentAfterSeconds: number | null = null;
    const deadline = t0 + holdTimeoutSeconds * 1000;
    while (!finished && performance.now() < deadline) {
      maxHeldPrograms = Math.max(maxHeldPrograms, await countInTree(pid, HELD_READER_COMM));
      if (dots >= messages) {
        allSentAfterSeconds = (performance.now() - t0) / 1000;
        await sleep(1000); // the plateau, for the sampler
        break;
      }
      await sleep(250);
    }
    gate.open();
    const outcomes = await all;
    const seconds = (performance.now() - t0) / 1000;
    const sampled = await sampler.stop();
    sampler = null;
    const hwm = await readMemory(pid);
    const ok2xx = outcomes.filter((o) => o.code >= 200 && o.code < 300).length;
    const check = checkDigests(
      Array.from({ length: messages }, (_, i) => built.expectedDigest(i)),
      parseDigests(readFileSync(output, 'utf8')),
    );
    const firstError = outcomes.find((o) => o.error !== null || o.code >= 300)?.error;
    const problems = [
      ok2xx < messages ? `${messages - ok2xx} of ${messages} without a 2xx (first: ${firstError ?? 'a non-2xx reply'})` : '',
      check.missing > 0 ? `${check.missing} not delivered byte-exact` : '',
      check.corrupted > 0 ? `${check.corrupted} deliveries matching no sent message` : '',
      allSentAfterSeconds === null ? `at most ${maxInFlight} of ${messages} in flight at once; released after ${seconds.toFixed(0)} s` : '',
    ].filter(Boolean);
    const result: HeldLargeResult = {
      ...empty,
      status: ok2xx > 0 && hwm !== null ? 'ok' : 'failed',
      note: problems.length > 0 ? problems.join('; ') : null,
      allSentAfterSeconds,
      maxInFlight,
      maxHeldPrograms,
      baselineRssMb,
      peakRssMb: sampled.peakRssMb,
      hwmRssMb: hwm ? hwm.hwmBytes / MIB : null,
      ok2xx,
      failed: messages - ok2xx,
      byteExact: check.byteExact,
      corrupted: check.corrupted,
      seconds,
    };
    ctx.log(
      `  VmHWM ${result.hwmRssMb?.toFixed(0)} MB, sampled peak ${result.peakRssMb?.toFixed(0)} MB; ${maxInFlight} in flight at most, ` +
        `all sent after ${allSentAfterSeconds?.toFixed(1) ?? '-'} s; ${ok2xx} 2xx, ${check.byteExact} byte-exact in ${seconds.toFixed(1)} s`,
    );
    return result;
  } catch (err) {
    ctx.note(`held-large, ${system}: failed: ${describeError(err)}`);
    return { ...empty, status: 'failed', note: describeError(err) };
  } finally {
    await sampler?.stop();
    // Stopped with the programs still blocked (a failure above) is fine: the forced stop kills them.
    await started.stop();
    gate.close();
  }
}
