// The one place that joins a received message, its transport and the pool: names the
// message (queue id, trace headers) when DATA starts, then builds the task, waits for the
// outcome, maps it to the reply, logs the delivery line and releases the message.
// Knows no SMTP wire details and spawns nothing itself.

import type { Logger } from 'pino';
import type { TransportConfig } from '../config/types.js';
import type { DeliveryPool } from '../pool/pool.js';
import type { DeliveryTask, TaskMessage } from '../pool/task.js';
import type { Received } from '../message/message-store.js';
import { expandArguments, programEnvironment, type Envelope } from './envelope.js';
import { mapOutcomeToReply, type DeliveryOutcome } from './outcome-reply.js';
import { classifyOutcome } from './outcome-class.js';
import type { SessionInfo } from '../smtp/policy.js';
import { formatReply, type SmtpReply } from '../smtp/reply.js';
import { buildTraceHeaders } from './trace-headers.js';
import { detectLoop } from './loop-check.js';
import type { QueueIdGenerator } from './queue-id.js';

/** What the session knows (client, HELO, TLS, listener settings) plus the transaction. */
export interface DeliveryRequest extends SessionInfo {
  readonly transport: TransportConfig;
  readonly sender: string;
  readonly recipients: readonly string[];
  /** Max_Received_Headers (loop-check.ts). */
  readonly maxReceivedHeaders: number;
}

/** A message about to be received: named, its trace headers written. */
export interface OpenDelivery {
  readonly queueId: string;
  /** Trace headers in the transport's line ending ('' for none): the first bytes stored. */
  readonly header: string;
  /**
   * Runs the program on the received message (or refuses it), logs, releases the message.
   * `signal`: the client left; a run not yet started is dropped.
   */
  deliver(received: Received, signal: AbortSignal): Promise<SmtpReply>;
}

export interface Dispatcher {
  /** At DATA: the queue id and trace headers (they date the message from its DATA). */
  open(request: DeliveryRequest): OpenDelivery;
  /** Deliveries started and not yet answered. */
  readonly inFlight: number;
  /** Resolves once no delivery is in flight (at once when none is). */
  idle(): Promise<void>;
}

/** A timed-out run may take the SIGTERM grace on top of its timeout. */
export const KILL_GRACE_MS = 2000;

/** One delivery as the metrics see it; classifyOutcome() says what its outcome counts as. */
export interface DeliveryMetric {
  readonly transport: string;
  readonly outcome: DeliveryOutcome;
  readonly replyCode: number;
  /** From the end of DATA to the reply. */
  readonly durationMs: number;
  /**
   * The program's run (spawn to reap, workers/deliver.ts) and the wait before it, from the
   * end of DATA to its start; null when no program was started by a worker.
   */
  readonly program: { readonly runMs: number; readonly waitMs: number } | null;
  readonly sizeBytes: number;
  readonly recipients: number;
}

/** What the dispatcher reports per delivery (src/ops/metrics.ts implements it). */
export interface DeliveryObserver {
  delivery(metric: DeliveryMetric): void;
}

export function createDispatcher(options: {
  pool: DeliveryPool;
  logger: Logger;
  nextQueueId: QueueIdGenerator;
  observer: DeliveryObserver;
}): Dispatcher {
  const { pool, logger, nextQueueId, observer } = options;
  let inFlight = 0;
  const idleWaiters: Array<() => void> = [];
  const wakeIdle = () => {
    if (inFlight === 0) idleWaiters.splice(0).forEach((resolve) => resolve());
  };

  return {
    get inFlight() {
      return inFlight;
    },
    idle() {
      if (inFlight === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    open(request) {
      const { transport } = request;
      const queueId = nextQueueId();
      const header = buildTraceHeaders(transport, {
        envelope: { ...envelopeOf(request, queueId), size: 0 },
        receivedBy: request.receivedBy,
        protocol: request.protocol,
        tls: request.tls,
        clientCertificate: request.clientCertificate,
        date: new Date(),
      });
      return {
        queueId,
        header,
        async deliver(received, signal) {
          const startedAt = performance.now();
          const envelope: Envelope = { ...envelopeOf(request, queueId), size: received.wireBytes };
          inFlight += 1;
          try {
            const ran = await run(request, envelope, received, signal);
            if ('code' in ran) return ran;
            const { outcome, task } = ran;
            const reply = mapOutcomeToReply(outcome, transport.codes, queueId, transport.timeoutMs, transport.exitCodes);
            const durationMs = performance.now() - startedAt;
            logDelivery(logger, envelope, request, task, outcome, reply, durationMs);
            observer.delivery({
              transport: transport.name,
              outcome,
              replyCode: reply.code,
              durationMs,
              program: programTimes(outcome, durationMs),
              sizeBytes: envelope.size,
              recipients: envelope.recipients.length,
            });
            return reply;
          } finally {
            if (received.kind === 'stored') received.message.release();
            inFlight -= 1;
            // After the callers' continuations, which write the reply: a forced stop waits
            // on idle(), then closes every session with 421.
            if (inFlight === 0) setImmediate(wakeIdle);
          }
        },
      };
    },
  };

  /** The outcome and the task it ran (null: decided before any task), or the reply that refused it. */
  async function run(
    request: DeliveryRequest,
    envelope: Envelope,
    received: Received,
    signal: AbortSignal,
  ): Promise<{ outcome: DeliveryOutcome; task: DeliveryTask | null } | SmtpReply> {
    if (received.kind === 'content-rejected') return { outcome: { kind: 'content-rejected' }, task: null };
    if (received.kind === 'spool-failed') return { outcome: { kind: 'spool-failed', errorCode: received.errorCode }, task: null };
    const loop = detectLoop(received.headers, request);
    if (loop) return { outcome: loop, task: null };
    const { transport } = request;
    const expanded = expandArguments(transport.program, envelope);
    if (expanded.injectedOption) {
      // Client text cannot get here past the checks at HELO, MAIL and RCPT; an empty
      // value before the template's own "-" can (`${sender}-x`, null sender). No run.
      logger.warn(
        {
          ...summarizeEnvelope(envelope),
          session: request.sessionId,
          argument: expanded.injectedOption.index,
          template: expanded.injectedOption.template,
          reply: formatReply(REPLY_INJECTED_OPTION),
        },
        'delivery refused: client text would begin a program argument with "-"',
      );
      return REPLY_INJECTED_OPTION;
    }
    const task: DeliveryTask = {
      program: transport.program.path,
      args: expanded.args,
      env: programEnvironment(transport, envelope),
      message: taskMessage(received),
      timeoutMs: transport.timeoutMs,
      killGraceMs: KILL_GRACE_MS,
      ...runSettings(transport),
      outputFile: transport.outputFile,
      replyFromOutput: transport.replyFromOutput,
    };
    return { outcome: await pool.run(transport, task, signal), task };
  }
}

/** Who and where a transport's programs run, deliveries and recipient checks alike. */
export function runSettings(transport: TransportConfig): Pick<DeliveryTask, 'outputMode' | 'errorFile' | 'errorMode' | 'runAs' | 'cwd' | 'umask'> {
  return {
    outputMode: transport.outputMode,
    errorFile: transport.errorFile,
    errorMode: transport.errorMode,
    runAs: transport.runAs,
    cwd: transport.directory?.text ?? null,
    umask: transport.umask,
  };
}

/**
 * The wait is what the delivery took beyond the run: the slot, the thread, the hand-over
 * (and the result's way back, well under a millisecond). Differences of one clock each,
 * so no time crosses between threads.
 */
function programTimes(outcome: DeliveryOutcome, durationMs: number): DeliveryMetric['program'] {
  const runMs = 'runMs' in outcome ? outcome.runMs : undefined;
  if (runMs === undefined) return null;
  return { runMs, waitMs: Math.max(0, durationMs - runMs) };
}

function envelopeOf(request: DeliveryRequest, queueId: string): Omit<Envelope, 'size'> {
  return {
    queueId,
    sender: request.sender,
    recipients: request.recipients,
    clientAddress: request.clientAddress,
    clientHelo: request.clientHelo,
    authUser: request.authUser,
    transport: request.transport.name,
  };
}

/**
 * What crosses to the worker: the bytes (transferred), or the spool file's descriptor.
 * A message shared by several runs (LMTP) also carries this run's header (TaskMessage).
 */
function taskMessage(received: Extract<Received, { kind: 'stored' }>): TaskMessage {
  const { message, header } = received;
  const own = header === undefined ? {} : { header };
  return message.kind === 'bytes' ? { kind: 'bytes', bytes: message.bytes, ...own } : { kind: 'file', fd: message.fd, size: message.size, ...own };
}

/** Permanent: the same envelope would be refused again (RFC 3463 5.7.0, security). */
const REPLY_INJECTED_OPTION: SmtpReply = { code: 554, text: '5.7.0 refused: client text would begin a program argument with "-"' };

/** At most this many recipients are named in a log line; the count says how many there were. */
const LOGGED_RECIPIENTS = 10;

/** The envelope fields of a log line, its size bounded whatever the client sent. */
function summarizeEnvelope(envelope: Envelope) {
  const { recipients } = envelope;
  return {
    queueId: envelope.queueId,
    client: envelope.clientAddress,
    helo: envelope.clientHelo,
    authUser: envelope.authUser,
    sender: envelope.sender,
    recipients: recipients.length > LOGGED_RECIPIENTS ? recipients.slice(0, LOGGED_RECIPIENTS) : recipients,
    recipientCount: recipients.length,
    size: envelope.size,
    transport: envelope.transport,
  };
}

function logDelivery(
  logger: Logger,
  envelope: Envelope,
  request: DeliveryRequest,
  task: DeliveryTask | null,
  outcome: DeliveryOutcome,
  reply: SmtpReply,
  durationMs: number,
): void {
  const { queueId, client, helo, sender, recipients, recipientCount, size, transport } = summarizeEnvelope(envelope);
  const line = {
    queueId,
    session: request.sessionId,
    client,
    helo,
    tls: request.tls,
    // The Auth_Password_File user of the session (RFC 4954), null without AUTH.
    authUser: request.authUser,
    // Verified or not (and why not); never in the program's argv or environment.
    clientCertificate: request.clientCertificate,
    sender,
    recipients,
    recipientCount,
    size,
    transport,
    program: task?.program ?? request.transport.program.path,
    outcome: outcome.kind,
    programPid: 'pid' in outcome ? outcome.pid : null,
    exitCode: outcome.kind === 'exited' ? outcome.exitCode : null,
    signal: outcome.kind === 'signaled' || outcome.kind === 'timed-out' ? outcome.signal : null,
    timedOut: outcome.kind === 'timed-out',
    stdinError: outcome.kind === 'exited' ? outcome.stdinError : null,
    // The program's own last words on a failed run (not with error_file: they went there).
    stderrTail: 'stderrTail' in outcome ? outcome.stderrTail : null,
    error: 'message' in outcome ? outcome.message : outcome.kind === 'spool-failed' ? outcome.errorCode : null,
    // What decided a loop: the Received: count, or the recipient a Delivered-To: named.
    ...(outcome.kind === 'loop-detected' ? { receivedHeaders: outcome.receivedHeaders, deliveredTo: outcome.deliveredTo } : {}),
    reply: formatReply(reply),
    durationMs: Math.round(durationMs * 10) / 10,
  };
  const { level, message } = classifyOutcome(outcome);
  logger[level](line, message);
  if ('killFailures' in outcome && outcome.killFailures.length > 0) {
    // The reply stands (the exit decided it); what the kill could not reach may still run.
    logger.warn(
      { queueId: envelope.queueId, transport: envelope.transport, programPid: outcome.pid, killFailures: outcome.killFailures },
      'could not signal the program\'s process group: a setuid program there runs as another user',
    );
  }
}
