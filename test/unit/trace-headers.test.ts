import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTraceHeaders, formatRfc5322Date } from '../../src/delivery/trace-headers.js';
import type { Envelope } from '../../src/delivery/envelope.js';
import { makeTransport } from '../helpers/transport.js';

const date = new Date(Date.UTC(2026, 10, 25, 9, 5, 7));
const envelope: Envelope = {
  queueId: 'Q1',
  sender: 'alice@origin.test',
  recipients: ['bob@example.com'],
  clientAddress: '127.0.0.1',
  clientHelo: 'client.test',
  size: 10,
  transport: 't',
};
const context = { envelope, receivedBy: 'mx.example.com', protocol: 'ESMTP', tls: null, date };

test('RFC 5322 date', () => {
  assert.equal(formatRfc5322Date(date), 'Wed, 25 Nov 2026 09:05:07 +0000');
});

test('Received line with one recipient names it (lf)', () => {
  assert.equal(
    buildTraceHeaders(makeTransport(), context),
    'Received: from client.test ([127.0.0.1])\n\tby mx.example.com (smtpipe) with ESMTP id Q1\n\tfor <bob@example.com>; Wed, 25 Nov 2026 09:05:07 +0000\n',
  );
});

test('Received line of an encrypted session names protocol and cipher, as Postfix does', () => {
  const secure = { ...context, protocol: 'ESMTPS', tls: 'TLSv1.3 TLS_AES_256_GCM_SHA384' };
  assert.equal(
    buildTraceHeaders(makeTransport(), secure),
    'Received: from client.test ([127.0.0.1])\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\n' +
      '\tby mx.example.com (smtpipe) with ESMTPS id Q1\n\tfor <bob@example.com>; Wed, 25 Nov 2026 09:05:07 +0000\n',
  );
});

test('Received line with several recipients names none (crlf)', () => {
  const many = { ...context, envelope: { ...envelope, recipients: ['a@example.com', 'b@example.com'], clientAddress: '::1' } };
  assert.equal(
    buildTraceHeaders(makeTransport({ eol: 'crlf' }), many),
    'Received: from client.test ([IPv6:::1])\r\n\tby mx.example.com (smtpipe) with ESMTP id Q1; Wed, 25 Nov 2026 09:05:07 +0000\r\n',
  );
});

test('Return-Path and Delivered-To come first, in order', () => {
  const headers = buildTraceHeaders(makeTransport({ returnPathHeader: true, deliveredToHeader: true, receivedHeader: false }), {
    ...context,
    envelope: { ...envelope, recipients: ['a@example.com', 'b@example.com'] },
  });
  assert.equal(headers, 'Return-Path: <alice@origin.test>\nDelivered-To: a@example.com\nDelivered-To: b@example.com\n');
});

test('no headers when all are off', () => {
  assert.equal(buildTraceHeaders(makeTransport({ receivedHeader: false }), context), '');
});

test('client text can never split a header or add one', () => {
  const hostile = {
    ...context,
    envelope: { ...envelope, clientHelo: 'evil\r\nX-Injected: yes (x) <y> \\z', recipients: ['a\r\nBcc: x@y'], sender: 'm\nX-A: 1' },
  };
  const headers = buildTraceHeaders(makeTransport({ returnPathHeader: true, deliveredToHeader: true }), hostile);
  const lines = headers.split('\n').filter(Boolean);
  for (const line of lines) {
    assert.match(line, /^(Return-Path|Delivered-To|Received): |^\t/, `unexpected header line ${JSON.stringify(line)}`);
    assert.doesNotMatch(line, /\r/);
  }
  assert.equal(lines.length, 5);
  assert.match(headers, /from evil\?\?X-Injected:\?yes\?\?x\?\?\?y\?\?\?z/);
});

test('Received line names a verified client certificate as Postfix does, escaped; an unverified one not at all', () => {
  const certificate = {
    verified: true,
    error: null,
    subject: 'O=smtpipe tests, CN=client.test',
    issuer: 'O=smtpipe tests, CN=smtpipe test client CA',
    commonName: 'client.test',
    issuerCommonName: 'smtpipe test client CA',
    fingerprint256: 'AA:BB',
  };
  const secure = { ...context, protocol: 'ESMTPS', tls: 'TLSv1.3 TLS_AES_256_GCM_SHA384', clientCertificate: certificate };
  assert.equal(
    buildTraceHeaders(makeTransport(), secure),
    'Received: from client.test ([127.0.0.1])\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\n' +
      '\t(Client CN "client.test", Issuer "smtpipe test client CA" (verified OK))\n' +
      '\tby mx.example.com (smtpipe) with ESMTPS id Q1\n\tfor <bob@example.com>; Wed, 25 Nov 2026 09:05:07 +0000\n',
  );
  // A CA may sign names with anything in them: none can close the comment or the line.
  const odd = { ...certificate, commonName: 'a" (x)\r\nX-Injected: 1', issuerCommonName: null };
  const header = buildTraceHeaders(makeTransport(), { ...secure, clientCertificate: odd });
  assert.match(header, /\n\t\(Client CN "a\? \?x\?\?\?X-Injected: 1", Issuer "O=smtpipe tests, CN=smtpipe test client CA" \(verified OK\)\)\n/);
  assert.doesNotMatch(header, /\nX-Injected/);
  const unverified = { ...certificate, verified: false, error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' };
  assert.doesNotMatch(buildTraceHeaders(makeTransport(), { ...secure, clientCertificate: unverified }), /Client|client\.test"/);
});
