// The one error class of the SDK.

/** HTTP status of each wire code (PROTOCOL 8). */
const STATUS = {
  badRequest: 400, missingAuthorization: 401, malformedAuthorization: 401, invalidSession: 401,
  invalidSignature: 401, clockSkew: 401, invalidCredentials: 401, forbidden: 403, unknownMethod: 404,
  replayedRequest: 409, payloadTooLarge: 413, invalidParams: 422, tooManyAttempts: 429, rateLimited: 429,
  internal: 500, analyticError: 502, busy: 503, unavailable: 503, timeout: 504,
};

/** statusOf is the HTTP status PROTOCOL 8 gives a wire code (0 when unknown). */
export function statusOf(code) {
  return STATUS[code] ?? 0;
}

const HINTS = {
  invalidCredentials: 'check the username and password',
  invalidSession: 'the session ended (logout, idle timeout or lifetime): log in again',
  clockSkew: "the client's clock is off: set it right (NTP)",
  forbidden: 'ask an administrator for a grant to this method',
  tooManyAttempts: 'wait for Retry-After before trying again',
  rateLimited: 'slow down; wait for Retry-After',
  busy: 'the gateway is at its limit; retry after Retry-After',
  unavailable: 'retry after Retry-After',
  timeout: 'narrow the query (shorter time range, fewer symbols)',
  network: 'check the URL and that the gateway is running',
  notGateway: 'check the URL: it must be a qconnect (KX Connect) gateway',
  aborted: 'the caller aborted the request',
  incomplete: 'the result was cut before its end: run the call again',
  seqGap: 'an update was lost: subscribe again to resynchronise',
};

/**
 * QConnectError is every failure of the SDK. code is the wire code of
 * PROTOCOL 8 (e.g. "invalidParams") when the gateway answered, or one of the
 * local codes: "network" (no answer), "notGateway" (the answer is not the
 * protocol), "aborted" (an AbortSignal fired), "incomplete" (a stream or
 * socket was cut), "seqGap" (a subscription update was lost), "closed" (the
 * gateway closed the WebSocket; closeCode says why). status is the HTTP
 * status (0 for local codes; a failure reported after the rows had started
 * comes with the status of its code).
 */
export class QConnectError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{status?: number, details?: string[], retryAfter?: number, method?: string, closeCode?: number, cause?: unknown}} [opts]
   */
  constructor(code, message, opts = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'QConnectError';
    this.code = code;
    this.status = opts.status ?? statusOf(code);
    this.details = opts.details ?? [];
    this.retryAfter = opts.retryAfter ?? 0;
    this.method = opts.method ?? '';
    if (opts.closeCode !== undefined) this.closeCode = opts.closeCode;
  }

  /** hint is what to try next, for the common codes ('' otherwise). */
  get hint() {
    return HINTS[this.code] ?? '';
  }

  /** isAuth is true for the codes that mean "log in again or fix credentials". */
  get isAuth() {
    return this.status === 401;
  }
}

/** wireError builds the error of a failed envelope. */
export function wireError(error, status, method, retryAfter) {
  const e = error && typeof error === 'object' ? error : {};
  const code = typeof e.code === 'string' && e.code ? e.code : 'internal';
  return new QConnectError(code, typeof e.message === 'string' && e.message ? e.message : 'the call failed without an error message', {
    status: status || statusOf(code), details: Array.isArray(e.details) ? e.details.map(String) : [], method, retryAfter,
  });
}

/** abortError is the error thrown when signal fired. */
export function abortError(signal, what) {
  return new QConnectError('aborted', `${what} was aborted`, { cause: signal && signal.reason });
}
