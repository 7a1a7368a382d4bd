// Request signing, PROTOCOL 3.1: stringToSign, HMAC-SHA1 keyed by the
// session id (WebCrypto), Base64, and the Authorization value.

import { md5Hex } from './md5.js';

const encoder = new TextEncoder();

/** The MD5 of the empty body: BODY_MD5 of a WebSocket AuthReq (PROTOCOL 7). */
export const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

/**
 * md5 returns the lower-case hex MD5 of a string's UTF-8 bytes, or of bytes.
 * @param {string|Uint8Array} data
 */
export function md5(data) {
  return md5Hex(typeof data === 'string' ? encoder.encode(data) : data);
}

/** stringToSign joins the elements of the signature and the session id with "\n". */
export function stringToSign(input, sessionId) {
  return [input.verb, input.path, input.username, input.bodyMd5, input.contentType, input.date, sessionId].join('\n');
}

function subtle() {
  const s = globalThis.crypto && globalThis.crypto.subtle;
  if (!s) {
    throw new TypeError('WebCrypto (globalThis.crypto.subtle) is not available: use Node 20 or later, or a browser page served over HTTPS or from localhost');
  }
  return s;
}

/**
 * hmacKey imports key (the session id) as a non-extractable HMAC-SHA1
 * CryptoKey: a session imports it once and signs every request with it.
 */
export function hmacKey(key) {
  return subtle().importKey('raw', encoder.encode(key), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
}

/** hmacSha1Base64 is Base64(HMAC-SHA1(key, data)) over the UTF-8 bytes of both; key is a string or a CryptoKey from hmacKey. */
export async function hmacSha1Base64(key, data) {
  const k = typeof key === 'string' ? await hmacKey(key) : key;
  const mac = new Uint8Array(await subtle().sign('HMAC', k, encoder.encode(data)));
  let bin = '';
  for (const b of mac) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** authorization is username + last 5 characters of the session id + ":" + signature. */
export function authorization(username, sessionId, signature) {
  return username + sessionId.slice(-5) + ':' + signature;
}

/**
 * sign signs one request. input: {verb, path, username, contentType, date}
 * and either body (the exact body text; its UTF-8 bytes are hashed) or
 * bodyMd5. key, optional, is the session's CryptoKey from hmacKey (saves
 * importing it per request). Resolves to {bodyMd5, stringToSign, signature,
 * authorization}.
 */
export async function sign(input, sessionId, key) {
  const bodyMd5 = input.bodyMd5 ?? md5(input.body ?? '');
  const sts = stringToSign({ ...input, bodyMd5 }, sessionId);
  const signature = await hmacSha1Base64(key ?? sessionId, sts);
  return { bodyMd5, stringToSign: sts, signature, authorization: authorization(input.username, sessionId, signature) };
}
