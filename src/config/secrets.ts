import type { GatewayConfig } from './types.ts';

/**
 * Configured header names whose values are public protocol settings, not credentials: their
 * text is not scrubbed from messages. Every other configured header value is treated as a
 * secret (an operator may put a token in any header a proxy asks for).
 */
const PUBLIC_HEADERS: ReadonlySet<string> = new Set(['accept', 'content-type', 'user-agent', 'anthropic-version', 'anthropic-beta']);

/** `Bearer <token>`, `Basic <base64>`...: the credential is what follows the scheme. */
const AUTH_SCHEME = /^(bearer|basic|token|apikey|key)\s+/i;

/**
 * Every secret the configuration holds, for the redactor: providers' `api_key`, their header
 * values (the credential after an auth scheme; a Basic credential's password too), the user,
 * password and query values of their `base_url`, and the gateway's own client and admin keys.
 *
 * @example
 * configSecrets(config); // ['sk-proj-...', 'tok_...', 'proxy-password', ...]
 */
export function configSecrets(config: GatewayConfig): string[] {
  const out: string[] = [...config.auth.keys, ...config.auth.adminKeys];
  for (const { target } of config.providers) {
    if (target.apiKey !== undefined) out.push(target.apiKey);
    for (const [name, value] of Object.entries(target.headers ?? {})) {
      if (!PUBLIC_HEADERS.has(name)) headerSecrets(value, out);
    }
    urlSecrets(target.baseUrl, out);
  }
  return out.filter((s) => s !== '');
}

function headerSecrets(value: string, out: string[]): void {
  const scheme = AUTH_SCHEME.exec(value);
  if (scheme === null) {
    out.push(value);
    return;
  }
  const credential = value.slice(scheme[0].length).trim();
  out.push(credential);
  if (scheme[1].toLowerCase() === 'basic') {
    const decoded = Buffer.from(credential, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon !== -1) out.push(decoded.slice(colon + 1));
  }
}

/** A URL's user, password and query values, as written and decoded. */
function urlSecrets(baseUrl: string, out: string[]): void {
  if (!URL.canParse(baseUrl)) return;
  const url = new URL(baseUrl);
  for (const raw of [url.username, url.password]) {
    if (raw !== '') out.push(raw, safeDecode(raw));
  }
  for (const part of url.search.slice(1).split('&')) {
    const eq = part.indexOf('=');
    const raw = eq === -1 ? part : part.slice(eq + 1);
    if (raw !== '') out.push(raw, safeDecode(raw.replaceAll('+', ' ')));
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
