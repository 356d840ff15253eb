// Haraka plugin for the comparison benchmark (bench/compare): accepts recipients of the
// bench domain and, at queue time, pipes the message into /bin/cat (output discarded),
// replying only after the program exited. setup.sh copies it to plugins/bench_pipe.js.
/* global require, exports, process, OK, DENY, DENYSOFT -- the sandbox Haraka compiles a plugin in */
/* eslint-disable @typescript-eslint/no-require-imports -- Haraka plugins are CommonJS */

const { spawn } = require('node:child_process');

const PROGRAM = process.env.BENCH_PIPE_PROGRAM || '/bin/cat';
const DOMAIN = (process.env.BENCH_DOMAIN || 'bench.test').toLowerCase();

// No reverse DNS for clients, as smtpipe (disableReverseLookup) and Postfix
// (smtpd_peername_lookup = no) in the same benchmark.
exports.hook_lookup_rdns = function (next) {
  next(OK, 'localhost');
};

exports.hook_rcpt = function (next, connection, params) {
  const host = String(params[0].host || '').toLowerCase();
  if (host === DOMAIN) next(OK);
  else next(DENY, 'relaying denied');
};

exports.hook_queue = function (next, connection) {
  let answered = false;
  const answer = (code, text) => {
    if (answered) return;
    answered = true;
    next(code, text);
  };
  let child;
  try {
    child = spawn(PROGRAM, [], { stdio: ['pipe', 'ignore', 'ignore'] });
  } catch (err) {
    return answer(DENYSOFT, `program could not be started: ${err.message}`);
  }
  // EPIPE when the program does not read everything: its exit status decides.
  child.stdin.on('error', () => {});
  child.on('error', (err) => answer(DENYSOFT, `program could not be started: ${err.message}`));
  child.on('exit', (code, signal) => {
    if (code === 0) answer(OK);
    else answer(DENYSOFT, signal ? `program killed by ${signal}` : `program exited ${code}`);
  });
  connection.transaction.message_stream.pipe(child.stdin);
};
