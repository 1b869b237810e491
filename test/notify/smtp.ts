import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface ReceivedMail {
  from: string | false;
  to: string[];
  /** The user the client logged in as. */
  user: string | undefined;
  /** The message as sent over DATA, headers and body. */
  raw: string;
}

export interface SmtpTestServer {
  port: number;
  mails: ReceivedMail[];
  /** Every connection made, delivered or not. */
  connections: number;
  /** Answers the next RCPT TO commands with these SMTP replies (e.g. 451, 550) before accepting again. */
  failRcpt(...codes: number[]): void;
  close(): Promise<void>;
}

/**
 * A real SMTP server on 127.0.0.1 (port 0) that accepts AUTH PLAIN/LOGIN for one user over
 * a plain connection (loopback), with or without offering STARTTLS.
 */
export async function startSmtp(opts: { user: string; pass: string; offerStartTls?: boolean }): Promise<SmtpTestServer> {
  const mails: ReceivedMail[] = [];
  const rcptFailures: number[] = [];
  const state = { connections: 0 };
  const options: SMTPServerOptions = {
    logger: false,
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    closeTimeout: 100,
    disableReverseLookup: true,
    ...(opts.offerStartTls ? {} : { disabledCommands: ['STARTTLS'] }),
    onConnect(_session, cb) {
      state.connections++;
      cb();
    },
    onAuth(auth, _session, cb) {
      if (auth.username === opts.user && auth.password === opts.pass) cb(null, { user: auth.username });
      else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(_address, _session, cb) {
      const code = rcptFailures.shift();
      if (code === undefined) cb();
      else cb(Object.assign(new Error(code >= 500 ? 'Mailbox unavailable' : 'Try again later'), { responseCode: code }));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom === false ? false : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        cb();
      });
    },
  };
  const server = new SMTPServer(options);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    mails,
    get connections() {
      return state.connections;
    },
    failRcpt: (...codes) => rcptFailures.push(...codes),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A header's value from a raw message (unfolded). */
export function headerOf(raw: string, name: string): string | undefined {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

/** The body of a single-part text message, quoted-printable decoded when so encoded. */
export function bodyOf(raw: string): string {
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  if (headerOf(raw, 'Content-Transfer-Encoding')?.toLowerCase() !== 'quoted-printable') return body;
  const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}
