// The primary's /metrics when Processes > 1: its own few series (reloads, restarts, build
// info) and every front end's, aggregated by prom-client (counters and histograms summed,
// gauges by their `aggregator`, default sum). Asks the front ends through `collect`; keeps
// no copy of their series between scrapes.

import { AggregatorRegistry, Counter, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { RELOAD_RESULTS } from './metrics.js';

export type FrontEndSeries = ReadonlyArray<MetricObjectWithValues<MetricValue<string>>>;

export interface ClusterMetrics {
  /** What the metrics endpoint serves: every process's series as one daemon's. */
  readonly registry: Pick<Registry, 'metrics' | 'contentType'>;
  /** A SIGHUP reload ended: applied by every front end (true), or refused (false). */
  reload(success: boolean): void;
  frontEndRestarted(): void;
}

/**
 * `collect` returns the series of each front end that answered. The primary's series use
 * the names metrics.ts gives them in a single process (reloads are the primary's now), and
 * a front end's series of the same name are left out, so they count once.
 */
export function createClusterMetrics(version: string, collect: () => Promise<FrontEndSeries[]>): ClusterMetrics {
  const own = new Registry();
  new Gauge({ name: 'smtpipe_build_info', help: 'smtpipe version', labelNames: ['version'], registers: [own] }).labels(version).set(1);
  const reloads = new Counter({ name: 'smtpipe_config_reloads_total', help: 'Configuration reloads (SIGHUP), by result', labelNames: ['result'], registers: [own] });
  // Known label values at 0 from start-up, as metrics.ts does in one process: a rate or an
  // alert on failures has a series before the first reload.
  for (const result of RELOAD_RESULTS) reloads.labels(result).inc(0);
  const lastReloadOk = new Gauge({
    name: 'smtpipe_config_last_reload_successful',
    help: '1 if the last reload was applied (or none was tried), 0 if it was refused',
    registers: [own],
  });
  lastReloadOk.set(1);
  const lastReloadTime = new Gauge({
    name: 'smtpipe_config_last_reload_success_timestamp_seconds',
    help: 'When the configuration in use was loaded (start-up or last applied reload)',
    registers: [own],
  });
  lastReloadTime.setToCurrentTime();
  const restarts = new Counter({
    name: 'smtpipe_front_end_restarts_total',
    help: 'Front-end processes that exited unexpectedly and were started again (Processes > 1)',
    registers: [own],
  });

  return {
    registry: {
      contentType: own.contentType,
      async metrics() {
        const primary = await own.getMetricsAsJSON();
        const names = new Set(primary.map((metric) => metric.name));
        const frontEnds = (await collect()).map((series) => series.filter((metric) => !names.has(metric.name)));
        return AggregatorRegistry.aggregate([primary, ...frontEnds]).metrics();
      },
    },
    reload(success) {
      reloads.labels(success ? 'success' : 'failure').inc();
      lastReloadOk.set(success ? 1 : 0);
      if (success) lastReloadTime.setToCurrentTime();
    },
    frontEndRestarted() {
      restarts.inc();
    },
  };
}
