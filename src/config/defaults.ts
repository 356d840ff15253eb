// Every default of the config in one place, in the file's units (seconds, bytes), so
// the README table, config/smtpipe.conf and the schema cannot drift apart.

export const DEFAULTS = {
  /** Pool_Threads: min(available parallelism, this). */
  poolThreadsCap: 4,
  poolTasksPerThread: 64,
  poolMaxQueue: 1000,
  poolSpawner: 'auto',
  shutdownTimeoutSeconds: 30,
  listener: {
    maxMessageBytes: 10_240_000,
    maxSessions: 500,
    idleTimeSeconds: 300,
    maxRecipientsPerMessage: 100,
    greetingPauseSeconds: 0,
    /** As Postfix 3.9's smtpd_forbid_bare_newline = normal: refuse, never guess. */
    bareNewlines: 'reject',
    /** 0 = no limit (a relay's client may reuse one session for a whole queue run). */
    maxReceptionsPerConnection: 0,
    maxRecipientsPerConnection: 0,
    /** The whole DATA phase; RFC 5321 4.5.3.2.6 gives a server 10 minutes per data block. */
    maxDataSeconds: 600,
  },
  transport: {
    timeoutSeconds: 60,
    concurrency: 16,
    eol: 'lf',
    receivedHeader: true,
    returnPathHeader: false,
    deliveredToHeader: false,
    /** output_mode / error_mode: owner read/write only, like qmail and Postfix logs. */
    fileMode: 0o600,
    allowRoot: false,
    /**
     * Who a program runs as when smtpipe runs as root and its transport names no user:
     * Postfix's default_privs. Root only with allow_root = true.
     */
    userWhenRoot: 'nobody',
  },
} as const;

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
  return Math.max(1, Math.min(parallelism, DEFAULTS.poolThreadsCap));
}

/**
 * The highest uid or gid a transport may use: Node's spawn takes int32 ids, and both
 * spawners must accept every id the config does. (uid_t)-1 means "no change" anyway.
 */
export const MAX_ACCOUNT_ID = 2 ** 31 - 1;

/** setTimeout's ceiling (2^31-1 ms): a longer duration would fire at once. */
export const MAX_DURATION_SECONDS = Math.floor((2 ** 31 - 1) / 1000);
