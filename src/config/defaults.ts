// The defaults the schema computes rather than reads from an option table (those live
// beside their option in global-options.ts, listener-options.ts, transport-options.ts),
// and the limits every reader shares.

/** Pool_Threads: min(available parallelism, this). */
const POOL_THREADS_CAP = 4;

/**
 * Who a program runs as when smtpipe runs as root and its transport names no user:
 * Postfix's default_privs. Root only with allow_root = true.
 */
export const USER_WHEN_ROOT = 'nobody';

/**
 * Max_Sessions_Per_Client when unset: half of Listener_Sessions, rounded up, at least 1,
 * as Postfix's smtpd_client_connection_count_limit is half its default process limit
 * (50 of 100). One address can then never hold the whole Listen (slowloris). Behind a
 * load balancer without PROXY protocol every session shares one address: write 0 there.
 */
export function defaultSessionsPerClient(maxSessions: number): number {
  return Math.max(1, Math.ceil(maxSessions / 2));
}

/** Pool_Threads default: one per CPU the process may use, at most 4, at least 1. */
export function defaultPoolThreads(parallelism: number): number {
  return Math.max(1, Math.min(parallelism, POOL_THREADS_CAP));
}

/**
 * The highest uid or gid a transport may use: Node's spawn takes int32 ids, and both
 * spawners must accept every id the config does. (uid_t)-1 means "no change" anyway.
 */
export const MAX_ACCOUNT_ID = 2 ** 31 - 1;

/** setTimeout's ceiling (2^31-1 ms): a longer duration would fire at once. */
export const MAX_DURATION_SECONDS = Math.floor((2 ** 31 - 1) / 1000);
