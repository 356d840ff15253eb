// Prometheus metrics of one daemon: a registry created here (never prom-client's global
// one) and the few calls the other layers make. Low cardinality: labels are transport
// names, outcome kinds and reply classes, never addresses or queue IDs.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DeliveryMetric } from '../delivery/dispatcher.js';
import { classifyOutcome, RUN_LABELS } from '../delivery/outcome-class.js';
import { isNoSpace, type StoreObserver, type StoreStats } from '../message/message-store.js';
import type { RefusalObserver } from '../smtp/refusal-log.js';
import { refusalLabelPairs } from '../smtp/refusal-reasons.js';

export interface Metrics extends StoreObserver, RefusalObserver {
  readonly registry: Registry;
  sessionOpened(): void;
  sessionClosed(): void;
  /** Every reply line the SMTP layer sends. */
  reply(code: number): void;
  delivery(metric: DeliveryMetric): void;
  /**
   * The transports configured now (start-up, then each applied reload): their series exist
   * at 0 before their first delivery, so rate() and ratios have data from the start.
   */
  transports(names: readonly string[]): void;
  /** A SIGHUP reload ended: swapped in (true) or refused, old config kept (false). */
  reload(success: boolean): void;
  /** Read at scrape time, so the hot path pays nothing for them. */
  observePool(read: () => { waiting: number; running: number }): void;
  observeStore(stats: StoreStats): void;
}

const replyClass = (code: number) => `${Math.floor(code / 100)}xx`;
/** Every label value a counter can take that is known before anything happened. */
const TRANSACTION_RESULTS = ['delivered', 'deferred', 'rejected'];
const REPLY_CLASSES = ['2xx', '3xx', '4xx', '5xx'];
/** smtpipe_config_reloads_total's results; the primary of Processes > 1 counts reloads too (cluster-metrics.ts). */
export const RELOAD_RESULTS = ['success', 'failure'] as const;
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createMetrics(version: string): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name, help, labelNames, registers: [registry] });
  const connections = counter('smtpipe_connections_total', 'SMTP sessions accepted');
  const active = new Gauge({ name: 'smtpipe_connections_active', help: 'SMTP sessions open now', registers: [registry] });
  const transactions = counter('smtpipe_transactions_total', 'Messages received in full, by result', ['result']);
  for (const result of TRANSACTION_RESULTS) transactions.labels(result).inc(0);
  const replies = counter('smtpipe_replies_total', 'SMTP replies sent, by class', ['class']);
  for (const replyClassLabel of REPLY_CLASSES) replies.labels(replyClassLabel).inc(0);
  const runs = counter('smtpipe_program_runs_total', 'Program runs, by transport and outcome', ['transport', 'outcome']);
  const size = new Histogram({
    name: 'smtpipe_message_size_bytes',
    help: 'Size of messages received in full',
    buckets: [1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
    registers: [registry],
  });
  const recipients = new Histogram({
    name: 'smtpipe_message_recipients',
    help: 'Recipients per message received in full',
    buckets: [1, 2, 5, 10, 20, 50, 100],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'smtpipe_program_duration_seconds',
    help: 'How long programs ran, from spawn to exit, by transport (the wait for a slot is smtpipe_queue_wait_seconds)',
    labelNames: ['transport'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const queueWait = new Histogram({
    name: 'smtpipe_queue_wait_seconds',
    help: 'From the end of DATA to the start of its program: the wait for a slot (concurrency), by transport',
    labelNames: ['transport'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  new Gauge({ name: 'smtpipe_build_info', help: 'smtpipe version', labelNames: ['version'], registers: [registry] })
    .labels(version)
    .set(1);
  const reloads = counter('smtpipe_config_reloads_total', 'Configuration reloads (SIGHUP), by result', ['result']);
  for (const result of RELOAD_RESULTS) reloads.labels(result).inc(0);
  const lastReloadOk = new Gauge({
    name: 'smtpipe_config_last_reload_successful',
    help: '1 if the last reload was applied (or none was tried), 0 if it was refused',
    registers: [registry],
  });
  lastReloadOk.set(1);
  const lastReloadTime = new Gauge({
    name: 'smtpipe_config_last_reload_success_timestamp_seconds',
    help: 'When the configuration in use was loaded (start-up or last applied reload)',
    registers: [registry],
  });
  lastReloadTime.setToCurrentTime();
  let readPool: () => { waiting: number; running: number } = () => ({ waiting: 0, running: 0 });
  new Gauge({
    name: 'smtpipe_pool_queue_depth',
    help: 'Messages waiting for a program slot',
    registers: [registry],
    collect() {
      this.set(readPool().waiting);
    },
  });
  new Gauge({
    name: 'smtpipe_programs_running',
    help: 'Programs running now',
    registers: [registry],
    collect() {
      this.set(readPool().running);
    },
  });

  let store: StoreStats = { memoryBytes: 0, spooledBytes: 0 };
  new Gauge({
    name: 'smtpipe_message_memory_bytes',
    help: 'Message bytes held in memory now (Max_Memory_In_Flight)',
    registers: [registry],
    collect() {
      this.set(store.memoryBytes);
    },
  });
  new Gauge({
    name: 'smtpipe_spool_bytes',
    help: 'Bytes in spool files of messages received and not yet delivered',
    registers: [registry],
    collect() {
      this.set(store.spooledBytes);
    },
  });
  const spooledMessages = counter('smtpipe_spooled_messages_total', 'Messages stored in a spool file instead of memory');
  const spooledBytes = counter('smtpipe_spooled_bytes_total', 'Bytes of messages stored in spool files');
  const spoolFailures = counter('smtpipe_spool_failures_total', 'Spool files that could not be created or written, by reason', ['reason']);
  for (const reason of ['no_space', 'error']) spoolFailures.labels(reason).inc(0);
  // Every (stage, reason) pair of src/smtp/refusal-reasons.ts, at 0 from start-up.
  const refusals = counter('smtpipe_refusals_total', 'Clients, commands and messages refused before a program ran, by stage and reason', ['stage', 'reason']);
  for (const { stage, reason } of refusalLabelPairs()) refusals.labels(stage, reason).inc(0);
  const dropped = counter('smtpipe_deliveries_dropped_total', 'Deliveries dropped because the client left before its program started');

  return {
    registry,
    spooled(bytes) {
      spooledMessages.inc();
      spooledBytes.inc(bytes);
    },
    spoolFailed(errorCode) {
      spoolFailures.labels(isNoSpace(errorCode) ? 'no_space' : 'error').inc();
    },
    observeStore(stats) {
      store = stats;
    },
    sessionOpened() {
      connections.inc();
      active.inc();
    },
    sessionClosed() {
      active.dec();
    },
    reply(code) {
      replies.labels(replyClass(code)).inc();
    },
    refusal(stage, reason) {
      refusals.labels(stage, reason).inc();
    },
    delivery(metric) {
      if (metric.outcome.kind === 'client-gone') {
        dropped.inc();
        return;
      }
      const result = metric.replyCode < 300 ? 'delivered' : metric.replyCode < 500 ? 'deferred' : 'rejected';
      transactions.labels(result).inc();
      size.observe(metric.sizeBytes);
      recipients.observe(metric.recipients);
      const { run } = classifyOutcome(metric.outcome);
      if (run !== null) runs.labels(metric.transport, run).inc();
      if (metric.program !== null) {
        duration.labels(metric.transport).observe(metric.program.runMs / 1000);
        queueWait.labels(metric.transport).observe(metric.program.waitMs / 1000);
      }
    },
    transports(names) {
      // A removed transport keeps its series (Prometheus counters never go back).
      for (const transport of names) {
        for (const run of RUN_LABELS) runs.labels(transport, run).inc(0);
        duration.zero({ transport });
        queueWait.zero({ transport });
      }
    },
    reload(success) {
      reloads.labels(success ? 'success' : 'failure').inc();
      lastReloadOk.set(success ? 1 : 0);
      if (success) lastReloadTime.setToCurrentTime();
    },
    observePool(read) {
      readPool = read;
    },
  };
}
