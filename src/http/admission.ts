import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../core/openai-error.ts';
import { LOCAL_RETRY_AFTER_S } from '../targets/local-limit.ts';
import { sendError } from './errors.ts';

/** Chat requests the gateway holds at once by default (server.max_in_flight). */
export const DEFAULT_MAX_IN_FLIGHT_REQUESTS = 10_000;

/**
 * The gateway-wide admission limit: chat requests in flight, from arrival until their answer
 * (a whole stream included) is written or the client leaves. One more than the limit is
 * answered at once with 503 gateway_overloaded and Retry-After, before its body is read: the
 * gateway's own capacity, never a timeout and never a provider failure (no breaker, budget or
 * health state hears of it). Two integers, so the cost per request does not grow with the
 * number in flight.
 */
export class Admission {
  readonly limit: number;
  inFlight = 0;
  /** Requests refused since start-up. */
  refused = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Takes a place, or refuses the request (answered here) and returns false. */
  enter(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.inFlight >= this.limit) {
      this.refused++;
      req.resume();
      sendError(res, overloaded(this.limit));
      return false;
    }
    this.inFlight++;
    return true;
  }

  leave(): void {
    this.inFlight--;
  }
}

function overloaded(limit: number): GatewayError {
  return new GatewayError(503, `The gateway is overloaded: it holds ${limit} requests at once (server.max_in_flight). Retry after ${LOCAL_RETRY_AFTER_S} s.`, {
    type: 'api_error',
    code: 'gateway_overloaded',
    headers: { 'retry-after': String(LOCAL_RETRY_AFTER_S) },
  });
}
