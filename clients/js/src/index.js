// qconnect-client: the JavaScript SDK of qconnect, a KX Connect gateway.
// ESM, no runtime dependencies; Node 20+ and current browsers.

export { VERSION } from './version.js';
export { login, Session, Result } from './client.js';
export { QConnectError, statusOf } from './errors.js';
export { sign, stringToSign, authorization, hmacSha1Base64, hmacKey, md5, EMPTY_MD5 } from './signing.js';
export { md5 as md5Bytes, md5Hex } from './md5.js';
export { toCSV, csvLine, csvField } from './csv.js';
export { decodeValue, decodeRows, parseJSON, epochNanos, toDate, fromDate } from './values.js';
