// Reads TLS_Certificate / TLS_Key (and TLS_Client_CA) of every TLS listener into the
// config snapshot and checks that they form a usable pair (and a CA list), so `--check`,
// start-up and SIGHUP all refuse a bad certificate the same way: with file:line:col,
// before anything serves with it. Only regular files are read (src/config/regular-file.ts).

import { X509Certificate, createPrivateKey } from 'node:crypto';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import { ConfigCode } from './codes.js';
import type { DiagnosticSink } from './diagnostics.js';
import { readRegularFile } from './regular-file.js';
import type { ListenerConfig, ParsedListener, ParsedTls, SourcePosition } from './types.js';

/** The listeners with PEM text filled in; one with a problem is left out, the problem goes to `sink`. */
export async function readTlsFiles(
  parsed: readonly ParsedListener[],
  sink: DiagnosticSink,
  now = new Date(),
): Promise<ListenerConfig[]> {
  const listeners = await Promise.all(parsed.map((listener) => withPem(listener, sink, now)));
  return listeners.filter((l) => l !== undefined);
}

async function withPem(listener: ParsedListener, sink: DiagnosticSink, now: Date): Promise<ListenerConfig | undefined> {
  const { tls } = listener;
  if (!tls) return { ...listener, tls: null };
  // A relative path is taken from the directory of the file that holds the option, as
  // an include's is. Positions name that file as the user can open it from here.
  const resolve = (file: string, at: SourcePosition) => path.resolve(path.dirname(at.file), file);
  const files = [
    { option: 'TLS_Certificate', file: resolve(tls.certificateFile, tls.certificatePosition), at: tls.certificatePosition },
    { option: 'TLS_Key', file: resolve(tls.keyFile, tls.keyPosition), at: tls.keyPosition },
  ];
  if (tls.clientCaFile !== null && tls.clientCaPosition !== null) {
    files.push({ option: 'TLS_Client_CA', file: resolve(tls.clientCaFile, tls.clientCaPosition), at: tls.clientCaPosition });
  }
  const reads = await Promise.all(files.map(({ file }) => readRegularFile(file)));
  // Reported in file order once every read is over, whichever finished first.
  const texts = reads.map((result, i) => {
    const { option, file, at } = files[i]!;
    if (result.ok) return result.text;
    // A FIFO would have hung the read, a device fed it forever: neither is opened.
    const why = result.problem === 'not-regular' ? `${file} is ${result.reason}` : `cannot read ${file} (${result.code})`;
    sink.error(ConfigCode.TLS, at, `${option}: ${why}`);
    return undefined;
  });
  const [certificatePem, keyPem, clientCaPem = ''] = texts;
  if (texts.includes(undefined) || certificatePem === undefined || keyPem === undefined) return undefined;
  if (!checkPair(tls, certificatePem, keyPem, sink, now)) return undefined;
  if (tls.clientCaPosition !== null && !checkClientCa(tls, clientCaPem, sink, now)) return undefined;
  return { ...listener, tls: { ...tls, certificatePem, keyPem, clientCaPem } };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----/g;

/**
 * TLS_Client_CA: one or more PEM certificates. Node would take a file without any (and
 * then verify no client at all) without complaint, so each block is parsed here.
 */
function checkClientCa(tls: ParsedTls, pem: string, sink: DiagnosticSink, now: Date): boolean {
  const at = tls.clientCaPosition as SourcePosition;
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    sink.error(ConfigCode.TLS, at, `TLS_Client_CA: ${tls.clientCaFile} holds no PEM certificate`);
    return false;
  }
  for (const [i, block] of blocks.entries()) {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(block);
    } catch (error) {
      sink.error(ConfigCode.TLS, at, `TLS_Client_CA: certificate ${i + 1} of ${tls.clientCaFile} is not valid PEM (${(error as Error).message})`);
      return false;
    }
    if (now < new Date(certificate.validFrom) || now > new Date(certificate.validTo)) {
      // Clients it issued stop verifying: under "require" they are all refused.
      sink.warn(
        ConfigCode.TLS_VALIDITY,
        at,
        `TLS_Client_CA: ${certificate.subject.replaceAll('\n', ', ')} in ${tls.clientCaFile} is valid from ${new Date(certificate.validFrom).toISOString()} to ${new Date(certificate.validTo).toISOString()}, not now`,
      );
    }
  }
  return true;
}

function checkPair(tls: ParsedTls, certificatePem: string, keyPem: string, sink: DiagnosticSink, now: Date): boolean {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificatePem);
  } catch (error) {
    sink.error(ConfigCode.TLS, tls.certificatePosition, `TLS_Certificate: ${tls.certificateFile} is not a PEM certificate (${(error as Error).message})`);
    return false;
  }
  try {
    createPrivateKey(keyPem);
  } catch (error) {
    sink.error(ConfigCode.TLS, tls.keyPosition, `TLS_Key: ${tls.keyFile} is not a PEM private key (${(error as Error).message})`);
    return false;
  }
  try {
    // The same call smtp-server makes: it fails on a key that does not match.
    createSecureContext({ cert: certificatePem, key: keyPem });
  } catch (error) {
    sink.error(ConfigCode.TLS, tls.keyPosition, `TLS_Key: ${tls.keyFile} does not match ${tls.certificateFile} (${(error as Error).message})`);
    return false;
  }
  const validFrom = new Date(certificate.validFrom);
  const validTo = new Date(certificate.validTo);
  if (now < validFrom || now > validTo) {
    sink.warn(
      ConfigCode.TLS_VALIDITY,
      tls.certificatePosition,
      `TLS_Certificate: ${tls.certificateFile} is valid from ${validFrom.toISOString()} to ${validTo.toISOString()}, not now`,
    );
  }
  return true;
}
