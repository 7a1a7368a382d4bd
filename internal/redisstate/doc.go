// Package redisstate keeps the gateway's shared state in Redis, so that
// several gateways behind one load balancer act as one (issue 12, README
// "Many gateways, one Redis"):
//
//   - Sessions: an auth.Store. A session is a hash with a TTL at its expiry
//     (the earlier of idle and absolute), indexed per user (the per-user cap,
//     enforced atomically on Put) and in one expiry index that Sweep reads.
//   - ReplayCache: one key per (session, request id), set with SET NX PX, so
//     that a request id is accepted once across every gateway.
//   - Throttle: the login throttle's atomic reservation (a Lua script that
//     checks and counts an attempt in one step), per key.
//   - RateLimiter: the per-user request rate (GCRA, a Lua script).
//   - Guard: the replay check and the rate of signed requests together, for
//     many concurrent requests in one pipeline (the replay cache's keys, the
//     rate limiter's key, taken through per-gateway leases under load).
//
// Every session that ends (logout, eviction, expiry found by Sweep) is
// announced on a Pub/Sub channel; Watch delivers the announcements of every
// gateway, so each can close the session's WebSockets.
//
// Failures of Redis come back as *qconnect.Error with code unavailable
// (503, Retry-After) and a message that says Redis is unreachable. Nothing
// is ever accepted without Redis having been asked: a replay check that
// could not reach Redis refuses the request.
//
// The scripts read keys derived from other keys (a user's sessions), so the
// store needs a single Redis (or a primary with replicas), not Redis Cluster.
package redisstate
