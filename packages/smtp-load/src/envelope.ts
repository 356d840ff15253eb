// The SMTP commands of a run, pre-built once as Buffers: EHLO/HELO, MAIL FROM, one
// RCPT TO per recipient, DATA, RSET, QUIT, and the RFC 2920 pipelined batch
// MAIL+RCPT*+DATA. Pure; recipient {n} is the 1-based index within the message.

export interface EnvelopeCommands {
  readonly ehlo: Buffer;
  readonly helo: Buffer;
  readonly mail: Buffer;
  readonly rcpt: readonly Buffer[];
  readonly data: Buffer;
  readonly rset: Buffer;
  readonly quit: Buffer;
  /** MAIL, every RCPT and DATA in one Buffer, for one write when pipelining. */
  readonly pipelined: Buffer;
}

export interface EnvelopeFields {
  readonly helo: string;
  /** '' = the null reverse path <>. */
  readonly from: string;
  /** Address template; every "{n}" becomes the recipient number 1..rcpts. */
  readonly to: string;
  readonly rcpts: number;
}

export function buildEnvelope(fields: EnvelopeFields): EnvelopeCommands {
  const line = (text: string): Buffer => Buffer.from(`${text}\r\n`, 'latin1');
  const mail = line(`MAIL FROM:<${fields.from}>`);
  const rcpt = Array.from({ length: fields.rcpts }, (_, i) => line(`RCPT TO:<${fields.to.replaceAll('{n}', String(i + 1))}>`));
  const data = line('DATA');
  return {
    ehlo: line(`EHLO ${fields.helo}`),
    helo: line(`HELO ${fields.helo}`),
    mail,
    rcpt,
    data,
    rset: line('RSET'),
    quit: line('QUIT'),
    pipelined: Buffer.concat([mail, ...rcpt, data]),
  };
}
