import { uniqueId } from '../core/ids.ts';
import type { ProviderAdapter } from './types.ts';
import { classifyGoogleError } from './google/errors.ts';
import { googleHeaders, googleUrl, toGenerateContentRequest } from './google/request.ts';
import { toChatCompletion, type GoogleClock } from './google/response.ts';
import { GoogleStreamTranslator } from './google/stream.ts';

const systemClock: GoogleClock = {
  now: () => Date.now(),
  newId: () => `chatcmpl-${uniqueId()}`,
};

/**
 * Builds the Google Gemini adapter (generateContent / streamGenerateContent?alt=sse).
 * `clock` fixes `created` and the ids of responses without a responseId (tests).
 *
 * @example
 * const adapter = createGoogleAdapter();
 * const req = adapter.buildRequest(chatRequest, { target, model: 'gemini-2.5-flash', stream: false });
 * @see googleAdapter
 */
export function createGoogleAdapter(clock: GoogleClock = systemClock): ProviderAdapter {
  return {
    type: 'google',
    buildRequest(req, ctx) {
      return {
        method: 'POST',
        url: googleUrl(ctx.target, ctx.model, ctx.stream),
        headers: googleHeaders(ctx.target),
        body: JSON.stringify(toGenerateContentRequest(req)),
      };
    },
    parseResponse(body, ctx) {
      return toChatCompletion(body, ctx, clock);
    },
    classifyError(status, headers, body) {
      return classifyGoogleError(status, headers, body);
    },
    createStreamTranslator(ctx) {
      return new GoogleStreamTranslator(ctx, clock);
    },
  };
}

/**
 * The Google Gemini adapter: OpenAI chat requests to the Gemini API and back, with every
 * Gemini failure classified into an ErrorKind.
 *
 * @example
 * const { url, headers, body } = googleAdapter.buildRequest(req, { target, model: 'gemini-2.5-flash', stream: true });
 */
export const googleAdapter: ProviderAdapter = createGoogleAdapter();
