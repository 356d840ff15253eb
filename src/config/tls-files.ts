// Reads TLS_Certificate / TLS_Key of every TLS listener into the config snapshot and
// checks that they form a usable pair, so `--check`, start-up and SIGHUP all refuse a
// bad certificate the same way: with file:line:col, before anything serves with it.
// Only regular files are read (src/config/regular-file.ts).

import { X509Certificate, createPrivateKey } from 'node:crypto';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import { ConfigCode } from './codes.js';
import type { DiagnosticSink } from './diagnostics.js';
import { readRegularFile } from './regular-file.js';
import type { Config, ListenerConfig, ListenerTls, SourcePosition } from './types.js';

/** Returns the config with PEM text filled in; problems go to `sink`. */
export async function readTlsFiles(config: Config, sink: DiagnosticSink, now = new Date()): Promise<Config> {
  const listeners = await Promise.all(config.listeners.map((listener) => withPem(listener, sink, now)));
  return { ...config, listeners };
}

async function withPem(listener: ListenerConfig, sink: DiagnosticSink, now: Date): Promise<ListenerConfig> {
  const { tls } = listener;
  if (!tls) return listener;
  // A relative path is taken from the directory of the file that holds the option, as
  // an include's is. Positions name that file as the user can open it from here.
  const resolve = (file: string, at: SourcePosition) => path.resolve(path.dirname(at.file), file);
  const files = [
    { option: 'TLS_Certificate', file: resolve(tls.certificateFile, tls.certificatePosition), at: tls.certificatePosition },
    { option: 'TLS_Key', file: resolve(tls.keyFile, tls.keyPosition), at: tls.keyPosition },
  ];
  const reads = await Promise.all(files.map(({ file }) => readRegularFile(file)));
  // Reported in file order once both reads are over, whichever finished first.
  const [certificatePem, keyPem] = reads.map((result, i) => {
    const { option, file, at } = files[i]!;
    if (result.ok) return result.text;
    // A FIFO would have hung the read, a device fed it forever: neither is opened.
    const why = result.problem === 'not-regular' ? `${file} is ${result.reason}` : `cannot read ${file} (${result.code})`;
    sink.error(ConfigCode.TLS, at, `${option}: ${why}`);
    return undefined;
  });
  if (certificatePem === undefined || keyPem === undefined) return listener;
  if (!checkPair(tls, certificatePem, keyPem, sink, now)) return listener;
  return { ...listener, tls: { ...tls, certificatePem, keyPem } };
}

function checkPair(tls: ListenerTls, certificatePem: string, keyPem: string, sink: DiagnosticSink, now: Date): boolean {
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
