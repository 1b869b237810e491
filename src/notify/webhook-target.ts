/**
 * Vetting a webhook URL before the gateway connects to it (server-side request forgery):
 * the host is resolved here, every address it resolves to must pass the address policy,
 * and the connection is then pinned to those vetted addresses, so a DNS answer that changes
 * between the check and the connect (rebinding) is never used.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { METADATA_HOSTNAMES, refusal, type AllowList } from './address-policy.ts';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Host name -> its addresses. Injectable so tests can answer as a hostile DNS server would. */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** The operating system's resolver (getaddrinfo, as Node's own connections use). */
export const systemResolver: Resolver = async (hostname) => {
  const answers = await dnsLookup(hostname, { all: true, order: 'verbatim' });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** The webhook URL is not allowed; retrying cannot help. */
export class TargetRefused extends Error {
  override readonly name = 'TargetRefused';
}

/** A URL that passed, and the only addresses its connection may use. */
export interface VettedTarget {
  url: URL;
  addresses: readonly ResolvedAddress[];
}

/** The longest webhook URL accepted. */
export const MAX_URL_LENGTH = 2048;

/**
 * The checks that need no DNS: an absolute http(s) URL without credentials whose host is
 * not a refused IP literal (in any spelling the URL parser accepts: `2130706433`, `0x7f.1`,
 * `0177.0.0.1`, `[::ffff:7f00:1]` all become the address they spell), a metadata host name
 * or a `localhost` name. Throws TargetRefused; returns the parsed URL.
 */
export function checkWebhookUrl(text: string, allow: AllowList): URL {
  if (text.length > MAX_URL_LENGTH) throw new TargetRefused(`longer than ${MAX_URL_LENGTH} characters`);
  const url = URL.parse(text);
  if (url === null) throw new TargetRefused('not an absolute URL');
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TargetRefused(`scheme must be https or http, not ${url.protocol.slice(0, -1)}`);
  // The signature authenticates the gateway to the receiver; credentials in the URL would only end up in logs.
  if (url.username !== '' || url.password !== '') throw new TargetRefused('must not contain credentials');
  const host = bareHost(url);
  const literal = literalAddress(host);
  if (literal !== undefined) {
    const why = refusal(literal, allow);
    if (why !== undefined) throw new TargetRefused(`${literal} is ${why}`);
    return url;
  }
  if (METADATA_HOSTNAMES.has(host)) throw new TargetRefused(`${host} is a cloud metadata host`);
  if (host === 'localhost' || host.endsWith('.localhost')) {
    // RFC 6761: localhost names are loopback whatever a resolver says.
    const why = refusal('127.0.0.1', allow);
    if (why !== undefined) throw new TargetRefused(`${host} is ${why}`);
  }
  return url;
}

/**
 * Every check: the URL's own (`checkWebhookUrl`), then the host's addresses from `resolve`.
 * One refused address refuses the URL (a name answering a public and a private address is
 * the classic rebinding set-up). A resolver failure is thrown as is (it may be transient);
 * a refusal is a TargetRefused.
 */
export async function vetWebhookUrl(text: string, opts: { allow: AllowList; resolve: Resolver }): Promise<VettedTarget> {
  const url = checkWebhookUrl(text, opts.allow);
  const host = bareHost(url);
  const literal = literalAddress(host);
  if (literal !== undefined) return { url, addresses: [{ address: literal, family: isIP(literal) === 6 ? 6 : 4 }] };
  const answers = await opts.resolve(host);
  if (answers.length === 0) throw new Error(`${host} has no address`);
  const addresses: ResolvedAddress[] = [];
  for (const a of answers) {
    const why = refusal(a.address, opts.allow);
    if (why !== undefined) throw new TargetRefused(`${host} resolves to ${a.address}, which is ${why}`);
    // The canonical form, so what connects is exactly what was judged.
    const address = ipaddr.parse(a.address).toString();
    addresses.push({ address, family: isIP(address) === 6 ? 6 : 4 });
  }
  return { url, addresses };
}

/**
 * A `lookup` for net/tls.connect that answers with the vetted addresses only, whatever name
 * it is asked about: the connection goes where the check looked, never to a fresh DNS answer.
 */
export function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  const first = addresses[0];
  if (first === undefined) throw new Error('pinnedLookup needs an address');
  return (_hostname, options, callback) => {
    if (options.all) (callback as (err: null, all: ResolvedAddress[]) => void)(null, addresses.slice());
    else callback(null, first.address, first.family);
  };
}

/** The URL without secrets, for logs: origin and path (a query may carry a token). */
export function redactUrl(url: URL): string {
  return url.origin + url.pathname;
}

/** The URL's host: lower-case, no brackets, no trailing dot. */
function bareHost(url: URL): string {
  const h = url.hostname;
  if (h.startsWith('[')) return h.slice(1, -1);
  return h.endsWith('.') ? h.replace(/\.+$/, '') : h;
}

/** The host as an IP address when it is one. */
function literalAddress(host: string): string | undefined {
  return isIP(host) === 0 ? undefined : host;
}
