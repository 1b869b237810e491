/**
 * Key material out of text the gateway passes on (upstream error messages, mostly): every
 * configured secret and every piece of one at least {@link FRAGMENT} characters long, plus
 * what keys look like in general, so an upstream that echoes a key (OpenAI's
 * `Incorrect API key provided: sk-proj-****ARY3`, a proxy quoting a header or a URL) never
 * hands it to a client or a log.
 *
 * Only error paths call it; building one walks the secrets once.
 */

/** The shortest piece of a secret that is scrubbed: OpenAI shows the last four characters of a rejected key. */
export const FRAGMENT = 4;

/** What replaces a scrubbed piece. */
export const MASK = '****';

/**
 * Key shapes scrubbed whoever configured them. Lengths are floors that real keys pass and
 * ordinary prose does not ("sk-learn", "Bearer auth", "Bearer YOUR_KEY" stay).
 */
const GENERIC: ReadonlyArray<readonly [RegExp, string]> = [
  // OpenAI (sk-, sk-proj-), Anthropic (sk-ant-...) keys, whole or masked (sk-abc1****wxyz).
  [/\bsk-[A-Za-z0-9_*-]{8,}/g, `sk-${MASK}`],
  // Google API keys.
  [/\bAIza[A-Za-z0-9_-]{16,}/g, `AIza${MASK}`],
  // Credentials in a header as quoted: "Authorization: Bearer <token>", "x-api-key: <key>".
  [/\b(Bearer|Basic|Token)(\s+)[A-Za-z0-9._~+/=*-]{10,}/gi, `$1$2${MASK}`],
  [/\b((?:x-(?:goog-)?)?api-key["']?\s*[:=]\s*["']?)[^\s"',;}]{8,}/gi, `$1${MASK}`],
  // A URL's user:password@ and the values of its key-like query parameters.
  [/\b([a-z][a-z0-9+.-]{0,31}:\/\/)[^\s/?#]*@/gi, `$1${MASK}@`],
  [/([?&;](?:key|api[-_]?key|apikey|access[-_]?token|token|auth|sig|signature|secret|password|pwd)=)[^&#\s"'<>]+/gi, `$1${MASK}`],
];

/**
 * Scrubs configured secrets (and any {@link FRAGMENT}-character piece of one) and generic key
 * shapes out of text.
 *
 * @example
 * const r = new Redactor(['sk-proj-Q7ZKX3VWMB']);
 * r.scrub('Incorrect API key provided: sk-proj-****X3VW.'); // 'Incorrect API key provided: sk-****.'
 * r.scrub('rejected key ending in MB and X3VW'); // 'rejected key ending in MB and ****'
 */
export class Redactor {
  /** Every FRAGMENT-character window of every secret. */
  readonly #pieces = new Set<string>();

  /** Secrets shorter than FRAGMENT are ignored: scrubbing three characters would scrub prose. */
  constructor(secrets: Iterable<string>) {
    for (const secret of secrets) {
      for (const form of new Set([secret, encodeURIComponent(secret)])) {
        for (let i = 0; i + FRAGMENT <= form.length; i++) {
          const piece = form.slice(i, i + FRAGMENT);
          // A secret holding "****" must not make every mask a match.
          if (piece !== MASK) this.#pieces.add(piece);
        }
      }
    }
  }

  scrub(text: string): string {
    let out = text;
    for (const [pattern, replacement] of GENERIC) out = out.replace(pattern, replacement);
    return this.#pieces.size === 0 ? out : this.#scrubPieces(out);
  }

  /** Replaces each run of characters covered by a secret's window with one mask. */
  #scrubPieces(text: string): string {
    let result = '';
    let copied = 0;
    let runStart = -1;
    let runEnd = -1;
    for (let i = 0; i + FRAGMENT <= text.length; i++) {
      if (!this.#pieces.has(text.slice(i, i + FRAGMENT))) continue;
      if (i > runEnd) {
        if (runStart !== -1) {
          result += text.slice(copied, runStart) + MASK;
          copied = runEnd;
        }
        runStart = i;
      }
      runEnd = i + FRAGMENT;
    }
    if (runStart === -1) return text;
    return result + text.slice(copied, runStart) + MASK + text.slice(runEnd);
  }
}

/** Scrubs the generic key shapes only (no configured secrets). */
export const GENERIC_REDACTOR = new Redactor([]);
