import type { RateLimitInfo, RetryHints } from '../core/upstream-error.ts';
import type { HeaderMap } from './types.ts';

function header(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `Retry-After`: delta-seconds or an HTTP-date. Returns ms (>= 0) or undefined. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * Go-style durations as OpenAI sends them in x-ratelimit-reset-*: "1s", "6m0s", "20ms",
 * "1h2m3.5s"; also protobuf Duration JSON as Gemini sends it in retryDelay: "38s", "0.5s".
 */
export function parseDuration(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const s = value.trim();
  if (s === '') return undefined;
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    matched = re.lastIndex;
    const n = Number(m[1]);
    switch (m[2]) {
      case 'h': total += n * 3_600_000; break;
      case 'm': total += n * 60_000; break;
      case 's': total += n * 1000; break;
      case 'ms': total += n; break;
      case 'us': case 'µs': total += n / 1000; break;
      case 'ns': total += n / 1_000_000; break;
    }
  }
  return matched === s.length ? Math.round(total) : undefined;
}

function num(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function untilIso(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function compact(info: RateLimitInfo): RateLimitInfo | undefined {
  for (const k in info) if (info[k as keyof RateLimitInfo] === undefined) delete info[k as keyof RateLimitInfo];
  return Object.keys(info).length > 0 ? info : undefined;
}

/**
 * Retry hints from response headers: `retry-after-ms` (OpenAI, ms) wins over `retry-after`;
 * rate-limit state from OpenAI's `x-ratelimit-*` and Anthropic's `anthropic-ratelimit-*`.
 */
export function hintsFromHeaders(headers: HeaderMap, now: number = Date.now()): RetryHints {
  const hints: RetryHints = {};
  const ms = num(header(headers, 'retry-after-ms'));
  const retryAfterMs = ms !== undefined && ms >= 0 ? Math.round(ms) : parseRetryAfter(header(headers, 'retry-after'), now);
  if (retryAfterMs !== undefined) hints.retryAfterMs = retryAfterMs;

  // Some servers (Azure, proxies) send only the token or only the request half.
  const rateLimit =
    header(headers, 'x-ratelimit-remaining-requests') !== undefined ||
    header(headers, 'x-ratelimit-remaining-tokens') !== undefined ||
    header(headers, 'x-ratelimit-limit-requests') !== undefined ||
    header(headers, 'x-ratelimit-limit-tokens') !== undefined
      ? compact({
          limitRequests: num(header(headers, 'x-ratelimit-limit-requests')),
          remainingRequests: num(header(headers, 'x-ratelimit-remaining-requests')),
          resetRequestsMs: parseDuration(header(headers, 'x-ratelimit-reset-requests')),
          limitTokens: num(header(headers, 'x-ratelimit-limit-tokens')),
          remainingTokens: num(header(headers, 'x-ratelimit-remaining-tokens')),
          resetTokensMs: parseDuration(header(headers, 'x-ratelimit-reset-tokens')),
        })
      : header(headers, 'anthropic-ratelimit-requests-limit') !== undefined ||
          header(headers, 'anthropic-ratelimit-requests-remaining') !== undefined
        ? compact({
            limitRequests: num(header(headers, 'anthropic-ratelimit-requests-limit')),
            remainingRequests: num(header(headers, 'anthropic-ratelimit-requests-remaining')),
            resetRequestsMs: untilIso(header(headers, 'anthropic-ratelimit-requests-reset'), now),
            limitTokens: num(header(headers, 'anthropic-ratelimit-tokens-limit')),
            remainingTokens: num(header(headers, 'anthropic-ratelimit-tokens-remaining')),
            resetTokensMs: untilIso(header(headers, 'anthropic-ratelimit-tokens-reset'), now),
          })
        : undefined;
  if (rateLimit !== undefined) hints.rateLimit = rateLimit;
  return hints;
}
