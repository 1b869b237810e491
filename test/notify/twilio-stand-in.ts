import { randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Twilio's Messages API, strict about the request as Twilio is: the
 * path `/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP basic auth
 * AccountSid:AuthToken, a form-encoded body with `To`, `From` or `MessagingServiceSid`, and
 * `Body`. It answers with Twilio's shapes: 201 and a Message resource, or Twilio's error
 * JSON `{code, message, more_info, status}`. `+15005550001` is Twilio's magic invalid number.
 */

export interface SentSms {
  sid: string;
  to: string;
  from: string | null;
  messaging_service_sid: string | null;
  body: string;
}

export interface TwilioStandIn {
  baseUrl: string;
  sent: SentSms[];
  /** Every request, accepted or not. */
  calls: number;
  /** Answers the next requests with these statuses before behaving again (429 and 5xx in Twilio's error shape). */
  failNext(...statuses: number[]): void;
  close(): Promise<void>;
}

const TWILIO_ERRORS: Record<number, string> = {
  20003: 'Authenticate',
  20429: 'Too Many Requests',
  20500: 'An internal server error has occurred',
  21211: "The 'To' number {to} is not a valid phone number.",
  21602: 'Message body is required.',
  21603: "A 'From' phone number is required.",
  21604: "A 'To' phone number is required.",
  21617: 'The concatenated message body exceeds the 1600 character limit.',
};

function twilioError(res: ServerResponse, status: number, code: number, message?: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ code, message: message ?? TWILIO_ERRORS[code], more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
}

export async function startTwilioStandIn(accountSid: string, authToken: string): Promise<TwilioStandIn> {
  const sent: SentSms[] = [];
  const failures: number[] = [];
  const state = { calls: 0 };
  const expectedAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.calls++;
      const path = `/2010-04-01/Accounts/${accountSid}/Messages.json`;
      const failure = failures.shift();
      if (failure !== undefined) return twilioError(res, failure, failure === 429 ? 20429 : 20500);
      if (req.headers.authorization !== expectedAuth) return twilioError(res, 401, 20003);
      if (req.method !== 'POST' || req.url !== path) {
        return twilioError(res, 404, 20404, `The requested resource ${req.url} was not found`);
      }
      if (!req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return twilioError(res, 400, 21604);
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const to = form.get('To');
      const from = form.get('From');
      const service = form.get('MessagingServiceSid');
      const body = form.get('Body');
      if (!to) return twilioError(res, 400, 21604);
      if (!from && !service) return twilioError(res, 400, 21603);
      if (!body) return twilioError(res, 400, 21602);
      if (body.length > 1600) return twilioError(res, 400, 21617);
      if (!/^\+[1-9]\d{1,14}$/.test(to) || to === '+15005550001') return twilioError(res, 400, 21211, TWILIO_ERRORS[21211]!.replace('{to}', to));
      const sid = `SM${randomBytes(16).toString('hex')}`;
      sent.push({ sid, to, from, messaging_service_sid: service, body });
      const now = new Date().toUTCString().replace('GMT', '+0000');
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          account_sid: accountSid,
          api_version: '2010-04-01',
          body,
          date_created: now,
          date_sent: null,
          date_updated: now,
          direction: 'outbound-api',
          error_code: null,
          error_message: null,
          from,
          messaging_service_sid: service,
          num_media: '0',
          num_segments: String(Math.ceil(body.length / 153)),
          price: null,
          price_unit: 'USD',
          sid,
          status: 'queued',
          subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
          to,
          uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    sent,
    get calls() {
      return state.calls;
    },
    failNext: (...statuses) => failures.push(...statuses),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
