// recipient_check: one program run per recipient at RCPT, before DATA, through the same
// pool and spawner as deliveries (its own lane: src/pool/pool.ts), and the one mapping of
// its outcome to the RCPT reply. Keeps nothing between calls: the session cache is the
// MailPolicy's (mail-policy.ts).

import type { Logger } from 'pino';
import type { TransportConfig } from '../config/types.js';
import type { DeliveryPool } from '../pool/pool.js';
import type { DeliveryTask, PoolOutcome } from '../pool/task.js';
import type { SessionInfo } from '../smtp/policy.js';
import { formatReply, type SmtpReply } from '../smtp/reply.js';
import { KILL_GRACE_MS, runSettings } from './dispatcher.js';
import { expandArguments, programEnvironment, type Envelope } from './envelope.js';
import { replyForExit, type ExitReplyPolicy } from './exit-presets.js';
import { classifyOutcome } from './outcome-class.js';
import { recipientKey } from './address.js';

export interface RecipientCheckRequest extends SessionInfo {
  readonly transport: TransportConfig;
  readonly sender: string;
  /** Checked and in its canonical form (address.ts). */
  readonly recipient: string;
}

/** The reply and whether it may be kept for the session (a busy pool says nothing about the recipient). */
export interface RecipientVerdict {
  /** 2xx: accepted; else the RCPT refusal. */
  readonly reply: SmtpReply;
  readonly cacheable: boolean;
}

export interface RecipientChecker {
  /** Runs the transport's recipient_check (it must have one). Never throws for an operational outcome. */
  check(request: RecipientCheckRequest, signal: AbortSignal): Promise<RecipientVerdict>;
}

/** RFC 3463 2.1.5: destination address valid. */
export const REPLY_RECIPIENT_OK: SmtpReply = { code: 250, text: '2.1.5 Ok' };

/**
 * The ONE place a check's outcome becomes the RCPT reply. Exit 0 accepts; another exit
 * takes the transport's `code` entry when it has one of class 2, 4 or 5 (2 accepts; the
 * class is kept); else, under `exit_codes = "sysexits"` or `"qmail"`, the preset's reply
 * (sysexits 67 is `550 5.1.1`, 75 `451 4.3.0`; a preset success accepts), and under
 * `"momentum"` `550 5.1.1` (the check said no: no such user). Anything that is not the
 * program's answer (timeout, signal, no start, the pool's own) is `451 4.3.x`: try later.
 */
export function mapCheckOutcome(outcome: PoolOutcome, policy: ExitReplyPolicy, timeoutMs: number): SmtpReply {
  switch (outcome.kind) {
    case 'exited': {
      if (outcome.exitCode === 0) return REPLY_RECIPIENT_OK;
      const mapped = policy.codes.get(outcome.exitCode);
      const replyClass = mapped === undefined ? 0 : Math.floor(mapped.code / 100);
      if (mapped !== undefined && (replyClass === 2 || replyClass === 4 || replyClass === 5)) return mapped;
      if (mapped === undefined && policy.exitCodes !== 'momentum') {
        const preset = replyForExit(policy, outcome.exitCode, '');
        return preset.code < 300 ? REPLY_RECIPIENT_OK : preset;
      }
      return { code: 550, text: `5.1.1 recipient refused: check gave exit status ${outcome.exitCode}` };
    }
    case 'timed-out':
      return { code: 451, text: `4.3.0 recipient check timed out after ${timeoutMs / 1000} s` };
    case 'signaled':
      return { code: 451, text: `4.3.0 recipient check killed by signal ${outcome.signal}` };
    case 'spawn-failed':
    case 'output-failed':
    case 'pool-failed':
      return { code: 451, text: '4.3.0 recipient check could not be run' };
    case 'pool-busy':
      return { code: 451, text: '4.3.2 system busy, try again later' };
    case 'client-gone':
      // Never sent: there is no one left to read it.
      return { code: 421, text: '4.4.2 client disconnected during the recipient check' };
  }
}

/** Client text cannot begin an argument with "-" (address.ts); an empty ${sender} before "-x" can. */
const REPLY_INJECTED_OPTION: SmtpReply = { code: 550, text: '5.7.0 refused: client text would begin a check argument with "-"' };

/** A check reads nothing: its stdin is an empty pipe. */
const NO_MESSAGE = () => ({ kind: 'bytes' as const, bytes: new ArrayBuffer(0) });

export function createRecipientChecker(options: { pool: DeliveryPool; logger: Logger }): RecipientChecker {
  const { pool, logger } = options;
  return {
    async check(request, signal) {
      const { transport } = request;
      const check = transport.recipientCheck;
      if (check === null) throw new Error(`transport ${transport.name} has no recipient_check`);
      const startedAt = performance.now();
      const envelope: Envelope = {
        queueId: '',
        sender: request.sender,
        recipients: [request.recipient],
        clientAddress: request.clientAddress,
        clientHelo: request.clientHelo,
        authUser: request.authUser,
        size: 0,
        transport: transport.name,
      };
      const expanded = expandArguments(check.template, envelope);
      if (expanded.injectedOption) {
        log(logger, request, null, REPLY_INJECTED_OPTION, startedAt, 'warn');
        return { reply: REPLY_INJECTED_OPTION, cacheable: true };
      }
      const env = programEnvironment(transport, envelope);
      // Neither has a value before DATA (src/config/recipient-check.ts refuses the macros).
      delete env.QUEUE_ID;
      delete env.SIZE;
      const task: DeliveryTask = {
        program: check.template.path,
        args: expanded.args,
        env,
        message: NO_MESSAGE(),
        timeoutMs: transport.recipientCheckTimeoutMs,
        killGraceMs: KILL_GRACE_MS,
        ...runSettings(transport),
        // Its answer is the exit status; what it says on stderr goes where the deliveries' does.
        outputFile: null,
        // Only the exit status answers a check.
        replyFromOutput: 'none',
      };
      // Waiting for a slot ends when the client leaves; a started check runs to its end
      // (at most recipient_check_timeout + the kill grace), its answer then unread.
      const outcome = await pool.run(transport, task, signal, 'recipient-check');
      const reply = mapCheckOutcome(outcome, transport, transport.recipientCheckTimeoutMs);
      if (reply.code >= 300 && outcome.kind !== 'client-gone') {
        const { level } = classifyOutcome(outcome);
        log(logger, request, outcome, reply, startedAt, level);
      }
      return { reply, cacheable: outcome.kind !== 'pool-busy' && outcome.kind !== 'client-gone' };
    },
  };
}

function log(
  logger: Logger,
  request: RecipientCheckRequest,
  outcome: PoolOutcome | null,
  reply: SmtpReply,
  startedAt: number,
  level: 'info' | 'warn' | 'error',
): void {
  logger[level](
    {
      session: request.sessionId,
      client: request.clientAddress,
      sender: request.sender,
      recipient: request.recipient,
      transport: request.transport.name,
      program: request.transport.recipientCheck?.template.path ?? null,
      outcome: outcome?.kind ?? 'injected-option',
      programPid: outcome !== null && 'pid' in outcome ? outcome.pid : null,
      exitCode: outcome?.kind === 'exited' ? outcome.exitCode : null,
      signal: outcome?.kind === 'signaled' || outcome?.kind === 'timed-out' ? outcome.signal : null,
      error: outcome !== null && 'message' in outcome ? outcome.message : null,
      reply: formatReply(reply),
      durationMs: Math.round((performance.now() - startedAt) * 10) / 10,
    },
    'recipient refused by recipient_check',
  );
}

/**
 * Check answers one session keeps, at most: a client naming new recipients in transaction
 * after transaction cannot grow it further (the oldest answers are forgotten first).
 */
const CHECK_CACHE_ENTRIES = 1000;

/**
 * What `route`'s recipient_check says of `address`: its refusal, or undefined (accepted, or
 * no check). Synchronous unless a check must run. Answers are kept per session.
 */
export type RecipientGate = (
  session: SessionInfo,
  route: TransportConfig,
  sender: string,
  address: string,
  signal?: AbortSignal,
) => SmtpReply | undefined | Promise<SmtpReply | undefined>;

export function createRecipientGate(checker: RecipientChecker): RecipientGate {
  /** Per session (SessionInfo.scope): check answer per transport, check, sender, HELO and recipient key. */
  const checkCache = new WeakMap<object, Map<string, SmtpReply | undefined>>();
  return (session, route, sender, address, signal) => {
    const check = route.recipientCheck;
    if (check === null) return undefined;
    const cache = checkCache.get(session.scope) ?? new Map<string, SmtpReply | undefined>();
    checkCache.set(session.scope, cache);
    // The check may name the sender, HELO or AUTH user, which change between transactions.
    const cacheKey = JSON.stringify([route.name, check.text, sender, session.clientHelo, session.authUser, recipientKey(address)]);
    if (cache.has(cacheKey)) return cache.get(cacheKey);
    return checker.check({ ...session, transport: route, sender, recipient: address }, signal ?? new AbortController().signal).then(({ reply, cacheable }) => {
      const refusal = reply.code < 300 ? undefined : reply;
      if (cacheable) {
        if (cache.size >= CHECK_CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
        cache.set(cacheKey, refusal);
      }
      return refusal;
    });
  };
}

/** `then` on a verdict that may be synchronous: the fast path (no check) stays synchronous. */
export function afterVerdict<T>(verdict: SmtpReply | undefined | Promise<SmtpReply | undefined>, next: (refusal: SmtpReply | undefined) => T): T | Promise<T> {
  return verdict instanceof Promise ? verdict.then(next) : next(verdict);
}

