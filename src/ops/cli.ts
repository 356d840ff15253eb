#!/usr/bin/env node
// The `smtpipe` command: parses arguments, loads the config, runs the daemon in the
// foreground and maps signals to its two-stage stop. Exit codes follow sysexits.h.

import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LevelWithSilent } from 'pino';
import { formatDiagnostic, loadConfig } from '../config/load.js';
import { printConfig } from '../config/print.js';
import { runFrontEnd } from './cluster-front-end.js';
import { runPrimary } from './cluster-primary.js';
import { createDaemon, type Daemon } from './daemon.js';
import { EXIT_CONFIG, EXIT_OK, EXIT_SOFTWARE, EXIT_USAGE, exitForStartFailure, exitForStop } from './exit-codes.js';
import { hardenProcess } from './hardening.js';
import { closeLeakingFds } from './inherited-fds.js';
import { createLogger, LOG_FORMATS, LOG_LEVELS, type LogFormat } from './logger.js';
import { runPasswd } from './passwd.js';


/** The package's root (dist/src/ops/ -> ../../../): where README.md and docs/ are. */
const PACKAGE_URL = new URL('../../../', import.meta.url);
const PACKAGE_DIR = fileURLToPath(PACKAGE_URL).replace(/\/$/, '');

const USAGE = `Usage: smtpipe [options]
       smtpipe passwd [USER] < password   (a line for Auth_Password_File; passwd --help)

Receives mail over SMTP and pipes each message into the program of the
pipe_transport that serves its recipient's domain; the program's exit status
decides the SMTP reply.

Options:
  -c, --config FILE     ecelerity.conf-style configuration (default: /etc/smtpipe/smtpipe.conf)
      --check           validate the configuration, print errors as file:line:col, exit 0 or 78
      --print           with --check (implied): print the effective configuration, every
                        option with its value or default, in the file's own syntax
      --log-level LEVEL ${LOG_LEVELS.join(', ')} (default: info)
      --log-format FMT  json: one JSON object a line on stdout (default);
                        journal: each line after its syslog priority (<3> error,
                        <6> info, ...) for journald, as the systemd unit runs it
  -v, --version         print the version and exit
  -h, --help            print this help and exit

Signals: SIGTERM/SIGINT drain (deliveries in flight finish); a second one forces.
         SIGHUP reloads the configuration (and certificates); an invalid file is
         logged with file:line:col and the running configuration is kept.
         SIGUSR1 is logged and ignored (it never opens Node's inspector).

Documentation, in ${PACKAGE_DIR} (where smtpipe is installed):
  README.md               quick start, programs, replies
  docs/operations.md      logs, metrics, reload, drain, troubleshooting
  docs/configuration.md   every option, with its unit and default
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('package.json', PACKAGE_URL), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  // Without a listener for SIGUSR1, Node opens its inspector on it: a debugger on
  // 127.0.0.1:9229 that any local user may attach to, without a password, and so run code
  // as smtpipe (as root in root mode). Operators habitually send USR1 to reopen logs
  // (nginx). Listening first thing means it never does; the signal is only logged.
  const onUsr1 = { log: (): void => {} };
  process.on('SIGUSR1', () => onUsr1.log());
  if (argv[0] === 'passwd') return runPasswd(argv.slice(1), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c', default: '/etc/smtpipe/smtpipe.conf' },
        check: { type: 'boolean', default: false },
        print: { type: 'boolean', default: false },
        'log-level': { type: 'string', default: 'info' },
        'log-format': { type: 'string', default: 'json' },
        version: { type: 'boolean', short: 'v', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`smtpipe: ${(error as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (values.version) {
    process.stdout.write(`smtpipe ${version()}\n`);
    return EXIT_OK;
  }
  const level = values['log-level'] as LevelWithSilent;
  if (!LOG_LEVELS.includes(level)) {
    process.stderr.write(`smtpipe: --log-level must be one of ${LOG_LEVELS.join(', ')}\n`);
    return EXIT_USAGE;
  }
  const format = values['log-format'] as LogFormat;
  if (!LOG_FORMATS.includes(format)) {
    process.stderr.write(`smtpipe: --log-format must be one of ${LOG_FORMATS.join(', ')}\n`);
    return EXIT_USAGE;
  }

  const result = await loadConfig(values.config);
  // A front end (Processes > 1) loads the file its primary has just shown the warnings of.
  if (!cluster.isWorker) for (const warning of result.warnings) process.stderr.write(`${formatDiagnostic(warning)}\n`);
  if (!result.ok) {
    for (const error of result.errors) process.stderr.write(`${formatDiagnostic(error)}\n`);
    process.stderr.write(`smtpipe: ${result.errors.length} error(s) in ${values.config}\n`);
    return EXIT_CONFIG;
  }
  if (values.print) {
    // As postconf or nginx -T: what the daemon would run with, loadable as it is.
    process.stdout.write(printConfig(result.config));
    return EXIT_OK;
  }
  if (values.check) {
    const { listeners, transports } = result.config;
    process.stdout.write(`${values.config}: ok (${listeners.length} listener(s), ${transports.length} transport(s))\n`);
    return EXIT_OK;
  }

  // As ps, top and the journal (_COMM) name it: "smtpipe", not "node" (uv_set_process_title
  // also sets the thread name the kernel reports in /proc/PID/comm).
  process.title = 'smtpipe';
  const { logger, flush } = createLogger(level, 1, format);
  process.on('exit', flush);
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    flush();
    process.exit(EXIT_SOFTWARE);
  });
  // Once per process, before any thread or program exists: whatever we inherited without
  // close-on-exec would otherwise leak into every program.
  const closedFds = closeLeakingFds();
  if (closedFds.length > 0) logger.warn({ fds: closedFds }, 'closed inherited file descriptors');
  onUsr1.log = () => logger.warn({ signal: 'SIGUSR1' }, 'signal ignored: smtpipe has no log file to reopen and never opens the inspector');
  // Before any thread or program exists; programs inherit neither setting.
  const { reapOrphan } = hardenProcess(logger);
  if (cluster.isWorker || result.config.processes > 1) {
    const file = values.config;
    const role = { config: result.config, loadConfig: () => loadConfig(file), logger, flush, version: version(), reapOrphan };
    return cluster.isWorker ? runFrontEnd(role) : runPrimary(role);
  }
  let daemon: Daemon;
  try {
    const file = values.config;
    daemon = createDaemon(result.config, logger, { version: version(), loadConfig: () => loadConfig(file), reapOrphan });
  } catch (error) {
    logger.fatal({ err: error }, 'could not start');
    flush();
    return EXIT_SOFTWARE;
  }
  let signalsSeen = 0;
  // The first signal drains; the next one forces.
  const onSignal = (signal: NodeJS.Signals) => {
    signalsSeen += 1;
    logger.info({ signal, stage: signalsSeen === 1 ? 'drain' : 'force' }, 'signal');
    if (signalsSeen > 1) return daemon.force();
    daemon.stop().then(
      (outcome) => {
        flush();
        process.exit(exitForStop(outcome));
      },
      (error: unknown) => {
        logger.fatal({ err: error }, 'stop failed');
        flush();
        process.exit(EXIT_SOFTWARE);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', () => {
    logger.info({ signal: 'SIGHUP' }, 'signal: reloading configuration');
    daemon.reload().catch((error: unknown) => logger.error({ err: error }, 'reload threw'));
  });
  try {
    await daemon.start();
  } catch (error) {
    logger.fatal({ err: error }, 'could not start');
    flush();
    return exitForStartFailure(error);
  }
  return -1;
}

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exitCode = code;
});
