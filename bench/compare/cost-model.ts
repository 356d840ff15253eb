// The cost model of issue 17: msgs/s on a machine of N cores, projected from CPU per message
// measured on this one. Pure: numbers in, numbers out; the cpu scenario measures, this
// module only does arithmetic (bench/README.md, "CPU per message and the cost model").

/** CPU per message, microseconds, as the cpu scenario measures it. */
export interface MessageCosts {
  /** One front end's event loop (its main thread): the serial part, one core at most per process. */
  readonly mainUs: number;
  /** Pool workers and the process's other threads (libuv pool, V8 helpers, threads that exited). */
  readonly workerUs: number;
  /** The programs (reaped children: cutime + cstime). */
  readonly programUs: number;
  /** A cluster primary's own CPU per message (0 with one process). */
  readonly primaryUs: number;
}

/** Cores the model would hand the daemon; here the generator takes its share of the same CPUs. */
export interface Machine {
  readonly cores: number;
  /** CPU per message of everything else that runs per message on those cores (the load generator here), us. */
  readonly otherUs: number;
}

export function totalUs(costs: MessageCosts): number {
  return costs.mainUs + costs.workerUs + costs.programUs + costs.primaryUs;
}

export type Bound = 'event loops' | 'cores';

export interface Projection {
  readonly cores: number;
  readonly processes: number;
  readonly msgsPerSecond: number;
  /** Which term of the min() bound it: the processes' event loops or the machine's cores. */
  readonly bound: Bound;
}

/**
 * msgs/s = min(processes x 1e6 / mainUs, cores x 1e6 / (every us per message)). Each
 * process's event loop is serial, so it can do at most 1e6 / mainUs messages a second;
 * everything together cannot use more than `cores` seconds of CPU per second. Assumes
 * accept() and the kernel's per-connection work scale with cores and that memory
 * bandwidth, caches and locks do not bind (not modelled).
 */
export function projectThroughput(costs: MessageCosts, machine: Machine, processes: number): Projection {
  if (!(costs.mainUs > 0) || processes < 1 || machine.cores <= 0) {
    throw new Error(`bug: cost model needs mainUs > 0, processes >= 1, cores > 0 (got ${costs.mainUs}, ${processes}, ${machine.cores})`);
  }
  const loops = (processes * 1e6) / costs.mainUs;
  const cpu = (machine.cores * 1e6) / (totalUs(costs) + machine.otherUs);
  return { cores: machine.cores, processes, msgsPerSecond: Math.min(loops, cpu), bound: loops <= cpu ? 'event loops' : 'cores' };
}

/** The cores of the README's table. */
export const PROJECTED_CORES = [4, 16, 64] as const;

export interface ProjectionRow {
  readonly cores: number;
  /** Processes = 1. */
  readonly single: Projection;
  /** Processes = auto (one per core). */
  readonly perCore: Projection;
}

/** The projection table: for each core count, one process and one per core; nothing else runs there. */
export function projectionTable(costs: MessageCosts, cores: readonly number[] = PROJECTED_CORES): ProjectionRow[] {
  return cores.map((n) => ({
    cores: n,
    single: projectThroughput(costs, { cores: n, otherUs: 0 }, 1),
    perCore: projectThroughput(costs, { cores: n, otherUs: 0 }, n),
  }));
}

export interface ModelCheck {
  readonly processes: number;
  readonly predicted: number;
  readonly measured: number;
  /** measured / predicted. */
  readonly ratio: number;
}

/** Predicted (this machine's cores, the generator's CPU as other load) against measured msgs/s. */
export function checkModel(costs: MessageCosts, machine: Machine, processes: number, measuredMsgsPerSecond: number): ModelCheck {
  const predicted = projectThroughput(costs, machine, processes).msgsPerSecond;
  return { processes, predicted, measured: measuredMsgsPerSecond, ratio: measuredMsgsPerSecond / predicted };
}
