// Type declarations of qconnect-client, the JavaScript SDK of qconnect.

/** The SDK's version; it follows the gateway's. */
export const VERSION: string;

/** A column of a result (PROTOCOL 4.3). */
export interface Column {
  name: string;
  /** "boolean", "long", "int", "short", "float", "real", "symbol", "string", "char", "timestamp", "date", "time", "timespan", "guid" */
  type: string;
}

/**
 * A decoded value (see the SDK's README): booleans, numbers (BigInt for a
 * long beyond 2^53 where the runtime allows it), strings (timestamps keep
 * their nanoseconds as RFC 3339 text), or null.
 */
export type Value = boolean | number | bigint | string | null;

/** A row as an object keyed by column name. */
export type Row = Record<string, Value>;

/** Parameters of a call (PROTOCOL 4.2). A Date is sent as RFC 3339; a BigInt as an exact integer. */
export type Params = Record<string, unknown>;

export interface LoginOptions {
  signal?: AbortSignal;
  /** fetch to use (default globalThis.fetch) */
  fetch?: typeof globalThis.fetch;
  /** WebSocket constructor for subscribe (default globalThis.WebSocket; on Node 20 pass the ws package's, or run node --experimental-websocket) */
  WebSocket?: unknown;
  /** largest answer call reads, in bytes (default 64 MiB); stream has no limit */
  maxResultBytes?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
}

/** The meta object of a result (PROTOCOL 4.3). */
export interface ResultMeta {
  columns?: Column[];
  rowCount?: number;
  truncated?: boolean;
  elapsedMs?: number;
}

/** A decoded result table. */
export class Result {
  private constructor();
  readonly columns: Column[];
  /** one array of values per row, in column order */
  readonly rows: Value[][];
  readonly rowCount: number;
  readonly truncated: boolean;
  readonly elapsedMs: number;
  /** the rows as objects keyed by column name */
  records(): Row[];
  /** the values of one column */
  column(name: string): Value[];
}

/** An NDJSON stream of rows; meta is set once it ended with success. */
export interface RowStream extends AsyncIterable<Row> {
  readonly method: string;
  readonly meta: ResultMeta | null;
}

export interface SnapshotMessage {
  type: 'snapshot';
  rows: Row[];
  meta: ResultMeta;
  date?: string;
}

export interface UpdateMessage {
  type: 'update';
  /** counts from 1 with no gaps; the SDK checks it */
  seq: number;
  rows: Row[];
  date?: string;
}

export type SubscriptionMessage = SnapshotMessage | UpdateMessage;

/** A live subscription over /connect/ws. Breaking out of its loop unsubscribes. */
export interface Subscription extends AsyncIterable<SubscriptionMessage> {
  readonly method: string;
  /** the subscription id, once ready */
  readonly id: string;
  /** resolves with the id once the gateway acknowledged it; rejects with its refusal */
  readonly ready: Promise<string>;
  /** the last update's seq (0 before the first) */
  readonly seq: number;
  unsubscribe(): Promise<void>;
}

export interface MethodInfo {
  group: string;
  name: string;
  path: string;
  description?: string;
  streaming: boolean;
  publish?: boolean;
  params: { name: string; type: string; required?: boolean; default?: unknown; description?: string }[];
  columns: Column[];
}

/** A logged-in session. Its id (the signing key) is private: never logged, serialised or exposed. */
export class Session {
  /** Sessions come from login. */
  private constructor();
  readonly username: string;
  readonly url: string;
  /** absolute expiry, IMF-fixdate */
  readonly expires: string;
  /** seconds of inactivity after which the session ends */
  readonly idleTimeout: number;
  call(method: string, params?: Params, options?: CallOptions): Promise<Result>;
  stream(method: string, params?: Params, options?: CallOptions & { format?: 'ndjson' }): RowStream;
  csv(method: string, params?: Params, options?: CallOptions & { neutralize?: boolean }): ReadableStream<Uint8Array>;
  fetch(method: string, params?: Params, options?: CallOptions & { format?: 'json' | 'ndjson' | 'csv' | 'arrow' }): Promise<Response>;
  subscribe(method: string, params?: Params, options?: CallOptions): Subscription;
  publish(method: string, rows: Record<string, unknown>[], options?: CallOptions): Promise<number>;
  methods(options?: CallOptions): Promise<MethodInfo[]>;
  ping(options?: CallOptions): Promise<{ idleTimeout: number; expires: string }>;
  logout(options?: CallOptions): Promise<void>;
  columnsOf(method: string, signal?: AbortSignal): Promise<Column[] | null>;
  toJSON(): { username: string; url: string; expires: string };
}

/** Opens a session: url is "http://host:port", "host:port", or "" for the page's own origin. */
export function login(url: string, username: string, password: string, options?: LoginOptions): Promise<Session>;

/** Wire codes of PROTOCOL 8 and the SDK's local codes. */
export type ErrorCode =
  | 'badRequest' | 'missingAuthorization' | 'malformedAuthorization' | 'invalidSession' | 'invalidSignature'
  | 'clockSkew' | 'invalidCredentials' | 'forbidden' | 'unknownMethod' | 'replayedRequest' | 'payloadTooLarge'
  | 'invalidParams' | 'tooManyAttempts' | 'rateLimited' | 'internal' | 'analyticError' | 'busy' | 'unavailable'
  | 'timeout' | 'slowConsumer'
  | 'network' | 'notGateway' | 'aborted' | 'incomplete' | 'seqGap' | 'closed';

/** Every failure of the SDK. */
export class QConnectError extends Error {
  constructor(code: string, message: string, opts?: { status?: number; details?: string[]; retryAfter?: number; method?: string; closeCode?: number; cause?: unknown });
  readonly code: ErrorCode | (string & {});
  /** HTTP status (0 for the local codes) */
  readonly status: number;
  /** one entry per problem (invalidParams) */
  readonly details: string[];
  /** seconds the gateway asked to wait (429, 503); 0 when none */
  readonly retryAfter: number;
  /** "group/name" of the call, when there was one */
  readonly method: string;
  /** the WebSocket close code, for code "closed" */
  readonly closeCode?: number;
  /** what to try next, for the common codes */
  readonly hint: string;
  /** true for the 401 codes */
  readonly isAuth: boolean;
}

export function statusOf(code: string): number;

export interface SignInput {
  verb: string;
  path: string;
  username: string;
  contentType: string;
  date: string;
  body?: string;
  bodyMd5?: string;
}

export interface Signed {
  bodyMd5: string;
  stringToSign: string;
  signature: string;
  authorization: string;
}

/** Signs one request (PROTOCOL 3.1); key is the session's CryptoKey from hmacKey, to skip importing it per request. */
export function sign(input: SignInput, sessionId: string, key?: CryptoKey): Promise<Signed>;
/** Imports a session id as a non-extractable HMAC-SHA1 CryptoKey. */
export function hmacKey(sessionId: string): Promise<CryptoKey>;
export function stringToSign(input: SignInput & { bodyMd5: string }, sessionId: string): string;
export function authorization(username: string, sessionId: string, signature: string): string;
export function hmacSha1Base64(key: string | CryptoKey, data: string): Promise<string>;
/** lower-case hex MD5 of a string's UTF-8 bytes, or of bytes */
export function md5(data: string | Uint8Array): string;
export function md5Bytes(bytes: Uint8Array): Uint8Array;
export function md5Hex(bytes: Uint8Array): string;
export const EMPTY_MD5: string;

export interface CSVOptions {
  /** prefix a text cell beginning with = + - @ TAB or CR with ' (OWASP CSV injection); default false */
  neutralize?: boolean;
}
export function toCSV(columns: (string | { name: string })[], rows: (unknown[] | Record<string, unknown>)[], opts?: CSVOptions): string;
export function csvLine(values: unknown[], opts?: CSVOptions): string;
export function csvField(value: unknown, opts?: CSVOptions): string;

export function decodeValue(type: string, v: unknown, column?: string): Value;
export function decodeRows(columns: Column[], rows: Record<string, unknown>[]): Value[][];
export function parseJSON(text: string): unknown;
/** a timestamp value as nanoseconds since 1970, exactly */
export function epochNanos(ts: string): bigint;
/** a timestamp value as a Date (milliseconds; the digits below are dropped) */
export function toDate(ts: string): Date;
/** a Date as a timestamp parameter */
export function fromDate(d: Date): string;
