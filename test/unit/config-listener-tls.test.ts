// Enable, TLS_Verify_Mode and TLS_Client_CA as the schema reads them (no files read here):
// honoured, or refused with file:line:col; never warned about and dropped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText, type ParseResult } from '../../src/config/load.js';

const host = { hostname: 'mx.test', parallelism: 2 };
const TRANSPORT = 'pipe_transport "t" { program_name = "/bin/cat" domain = "t.example" }\n';
const PAIR = 'TLS_Certificate = "c.pem" TLS_Key = "k.pem"';

const load = (listener: string): ParseResult => parseConfigText(`ESMTP_Listener {\n${listener}\n}\n${TRANSPORT}`, 'f.conf', host);
const diagnostics = (result: ParseResult) =>
  [...(result.ok ? [] : result.errors), ...result.warnings].map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`);

test('Enable = false: the Listen is checked but not bound; a Listen can override its listener', () => {
  const result = load(['  Enable = false', '  Listen "127.0.0.1:1" { }', '  Listen "127.0.0.1:2" { Enable = true }', '  Listen "127.0.0.1:3" { Enable = "no" }'].join('\n'));
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(result.config.listeners.map((l) => l.label), ['127.0.0.1:2']);
  assert.deepEqual(result.warnings, [], 'no "not implemented; ignored" warning any more');
  // A disabled Listen's own errors are still errors: enabling it later must be safe.
  assert.deepEqual(diagnostics(load('  Listen "127.0.0.1:1" { }\n  Listen "127.0.0.1:2" { Enable = false Idle_Time = soon }')), [
    '3:53 ERR_CONFIG_INVALID_VALUE Idle_Time: expected a whole number of seconds, got "soon"',
  ]);
  assert.deepEqual(diagnostics(load('  Listen "127.0.0.1:1" { Enable = maybe }')), [
    '2:35 ERR_CONFIG_INVALID_VALUE Enable: expected true or false (or yes/no, on/off), got "maybe"',
  ]);
  assert.deepEqual(diagnostics(load('  Enable = off\n  Listen "127.0.0.1:1" { }')), [
    '1:1 ERR_CONFIG_MISSING_STANZA every Listen has Enable = false: smtpipe would receive no mail; enable at least one',
  ]);
});

test('TLS_Verify_Mode: none, optional, require (any case); a CA alone means optional', () => {
  const result = load(
    [
      `  ${PAIR} SMTP_Extensions = ( "STARTTLS" ) TLS_Client_CA = "ca.pem"`,
      '  Listen "127.0.0.1:1" { }',
      '  Listen "127.0.0.1:2" { TLS_Verify_Mode = "Require" }',
      '  Listen "127.0.0.1:3" { Use_SSL = true TLS_Verify_Mode = optional TLS_Client_CA = "/other/ca.pem" }',
      '  Listen "127.0.0.1:4" { TLS_Verify_Mode = none }',
    ].join('\n'),
  );
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(
    result.config.listeners.map((l) => [l.label, l.tls?.mode, l.tls?.verifyMode, l.tls?.clientCaFile]),
    [
      ['127.0.0.1:1', 'starttls', 'optional', 'ca.pem'],
      ['127.0.0.1:2', 'starttls', 'require', 'ca.pem'],
      ['127.0.0.1:3', 'implicit', 'optional', '/other/ca.pem'],
      ['127.0.0.1:4', 'starttls', 'none', null],
    ],
  );
  assert.deepEqual(result.config.listeners[1]?.tls?.clientCaPosition, { file: 'f.conf', line: 2, column: 96 });
  assert.deepEqual(diagnostics(result), [], 'a Listen may opt out of its listener\'s CA');
  assert.deepEqual(diagnostics(load(`  Listen "127.0.0.1:1" { ${PAIR} Use_SSL = true TLS_Verify_Mode = none TLS_Client_CA = "ca.pem" }`)), [
    '2:124 WARN_CONFIG_UNUSED_OPTION Listen "127.0.0.1:1": TLS_Client_CA is unused with TLS_Verify_Mode = "none"',
  ]);
  const plain = load(`  ${PAIR}\n  Listen "127.0.0.1:1" { }`);
  assert.equal(plain.ok && plain.config.listeners[0]?.tls, null);
});

test('TLS_Verify_Mode: what would admit clients the operator meant to refuse is an error', () => {
  // "require" on a Listen without TLS: plain SMTP carries no certificate.
  assert.deepEqual(diagnostics(load('  TLS_Verify_Mode = require TLS_Client_CA = "ca.pem"\n  Listen "127.0.0.1:1" { }')), [
    '2:21 ERR_CONFIG_INVALID_VALUE Listen "127.0.0.1:1": TLS_Verify_Mode = "require" needs TLS: add "STARTTLS" to SMTP_Extensions or set Use_SSL = true (or TLS_Verify_Mode = "none" for this Listen)',
  ]);
  // Nothing to verify against.
  assert.deepEqual(diagnostics(load(`  Listen "127.0.0.1:1" { ${PAIR} Use_SSL = true TLS_Verify_Mode = "require" }`)), [
    '2:103 ERR_CONFIG_MISSING_OPTION Listen "127.0.0.1:1": TLS_Verify_Mode = "require" needs TLS_Client_CA, the PEM file of the CAs client certificates must chain to',
  ]);
  assert.deepEqual(diagnostics(load(`  Listen "127.0.0.1:1" { ${PAIR} Use_SSL = true TLS_Verify_Mode = "verify" TLS_Client_CA = "ca.pem" }`)), [
    '2:103 ERR_CONFIG_INVALID_VALUE TLS_Verify_Mode: expected "none", "optional" or "require", got "verify"',
  ]);
  // Without TLS, "optional" and a CA have no effect: said, not silently dropped.
  assert.deepEqual(diagnostics(load('  Listen "127.0.0.1:1" { TLS_Client_CA = "ca.pem" }')), [
    '2:42 WARN_CONFIG_UNUSED_OPTION Listen "127.0.0.1:1": TLS options are unused without "STARTTLS" in SMTP_Extensions or Use_SSL = true',
  ]);
});
