package redisstate

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qconnect/qconnect/internal/auth"
	"github.com/qconnect/qconnect/protocol"
)

// SessionConfig is the session policy the store needs to set expiries and
// the per-user cap; use the same values as auth.SessionConfig. Zero values
// take auth's defaults.
type SessionConfig struct {
	IdleTimeout time.Duration
	MaxLifetime time.Duration
	MaxPerUser  int
}

// Sessions is an auth.Store in Redis, shared by every gateway using the
// same Redis and prefix. Keys (after the prefix):
//
//	s:<id>      hash {u: user, c: created, l: lastSeen} (Unix ns), TTL at expiry
//	u:<user>    sorted set of the user's session ids, by created
//	exp         sorted set of every session id, by expiry (Unix ms)
//	ended       Pub/Sub channel: the id of every session that ends
//
// Put enforces MaxPerUser atomically: if logins on several gateways race
// past the cap, the oldest sessions end (and are announced on the channel).
type Sessions struct {
	c   *Client
	cfg SessionConfig

	// Round trips saved on the signed-request path, both bounded to a
	// fraction of a second: a session just read by ByUser answers the Get
	// that follows it (Sessions.Touch) for recentFor, and a Touch is written
	// at most once per touchEvery per session by this gateway (idle expiry
	// is precise to that). Both are dropped when the session ends.
	mu      sync.Mutex
	recent  map[string]recentSession
	touched map[string]time.Time // id → LastSeen last written by this gateway

	// users caches ByUser for userCacheFor: dropped for a user as soon as
	// one of their sessions ends or is created on any gateway (the ended
	// and login channels), and bypassed when a cached session is close to
	// its expiry, so that expiry is always judged on what Redis holds.
	// gen counts invalidations: a ByUser that raced one does not cache.
	users map[string]userEntry
	gen   uint64
}

type userEntry struct {
	ss []auth.Session
	// bySuffix indexes ss by the last protocol.SuffixLen characters of the
	// id: the signed-request path asks for exactly those (BySuffix).
	bySuffix map[string][]auth.Session
	at       time.Time
	// soonest is the earliest expiry among ss, by what was read (see usable).
	soonest time.Time
}

// usable reports whether the entry may answer at now: read less than
// userCacheFor ago, and no session of it due to expire soon (freshUntil).
func (e userEntry) usable(now time.Time) bool {
	return now.Sub(e.at) < userCacheFor && (len(e.ss) == 0 || freshUntil(e.soonest, now))
}

type recentSession struct {
	s  auth.Session
	at time.Time // when it was read
}

const (
	// userCacheFor bounds how long this gateway may use a user's sessions
	// as read from Redis should an announcement (Pub/Sub) be lost.
	userCacheFor = 500 * time.Millisecond
	recentFor    = userCacheFor
	touchEvery   = time.Second
	maxMemo      = 100_000
)

// NewSessions returns the session store of c.
func NewSessions(c *Client, cfg SessionConfig) *Sessions {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = auth.DefaultIdleTimeout
	}
	if cfg.MaxLifetime <= 0 {
		cfg.MaxLifetime = auth.DefaultMaxLifetime
	}
	if cfg.MaxPerUser <= 0 {
		cfg.MaxPerUser = auth.DefaultMaxPerUser
	}
	return &Sessions{c: c, cfg: cfg, recent: map[string]recentSession{}, touched: map[string]time.Time{}, users: map[string]userEntry{}}
}

// forget drops what this gateway remembers of session id.
func (st *Sessions) forget(id string) {
	st.mu.Lock()
	if r, ok := st.recent[id]; ok {
		delete(st.users, r.s.User)
	} else {
		clear(st.users) // whose it was is not known here
	}
	delete(st.recent, id)
	delete(st.touched, id)
	st.gen++
	st.mu.Unlock()
}

// forgetUser drops the cached sessions of user (a login somewhere).
func (st *Sessions) forgetUser(user string) {
	st.mu.Lock()
	delete(st.users, user)
	st.gen++
	st.mu.Unlock()
}

var (
	_ auth.Store        = (*Sessions)(nil)
	_ auth.FreshLister  = (*Sessions)(nil)
	_ auth.SuffixLister = (*Sessions)(nil)
)

// expiry is when s ends unless touched: the earlier of idle and absolute.
func (st *Sessions) expiry(created, lastSeen time.Time) time.Time {
	idle := lastSeen.Add(st.cfg.IdleTimeout)
	if abs := created.Add(st.cfg.MaxLifetime); abs.Before(idle) {
		return abs
	}
	return idle
}

// endScript removes a session: its hash, its place in the user's index and
// in the expiry index, and announces it when anything was removed.
// ARGV[2] > 0 makes it conditional: only if the session's expiry is due by
// then (Unix ms), so that a session touched meanwhile survives a sweep.
// KEYS: s:<id>, exp. ARGV: id, dueBy, user-key prefix, channel.
var endScript = redis.NewScript(`
local due = tonumber(ARGV[2])
if due > 0 then
  local sc = redis.call('ZSCORE', KEYS[2], ARGV[1])
  if sc and tonumber(sc) > due and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
end
local user = redis.call('HGET', KEYS[1], 'u')
local n = redis.call('DEL', KEYS[1]) + redis.call('ZREM', KEYS[2], ARGV[1])
if user then n = n + redis.call('ZREM', ARGV[3] .. user, ARGV[1]) end
if n > 0 then redis.call('PUBLISH', ARGV[4], ARGV[1]) end
return n`)

// putScript stores a session and trims the user's sessions to the cap,
// oldest first, announcing the ones it ends.
// KEYS: s:<id>, u:<user>, exp. ARGV: id, user, created ns, lastSeen ns,
// expiry ms, max per user, lifetime ms, session-key prefix, ended channel,
// login channel (which gets the user, so that caches of ByUser drop it).
var putScript = redis.NewScript(`
redis.call('HSET', KEYS[1], 'u', ARGV[2], 'c', ARGV[3], 'l', ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], math.floor(tonumber(ARGV[3]) / 1000000), ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
local max = tonumber(ARGV[6])
local n = redis.call('ZCARD', KEYS[2])
if n > max then
  local old = redis.call('ZRANGE', KEYS[2], 0, n - max - 1)
  for _, id in ipairs(old) do
    redis.call('DEL', ARGV[8] .. id)
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    redis.call('PUBLISH', ARGV[9], id)
  end
end
redis.call('PUBLISH', ARGV[10], ARGV[2])
return n`)

// Put stores s (a new session, or a replacement with the same id).
func (st *Sessions) Put(ctx context.Context, s auth.Session) error {
	ctx, cancel := st.c.ctx(ctx)
	defer cancel()
	exp := st.expiry(s.Created, s.LastSeen)
	err := putScript.Run(ctx, st.c.rdb,
		[]string{st.c.key("s", s.ID), st.c.key("u", s.User), st.c.key("exp")},
		s.ID, s.User, s.Created.UnixNano(), s.LastSeen.UnixNano(), exp.UnixMilli(),
		st.cfg.MaxPerUser, st.cfg.MaxLifetime.Milliseconds()+1000, st.c.key("s", ""), st.c.key("ended"), st.c.key("login")).Err()
	st.forgetUser(s.User)
	return st.c.fail("session put", err)
}

// Get returns the session id.
func (st *Sessions) Get(ctx context.Context, id string) (auth.Session, bool, error) {
	st.mu.Lock()
	r, ok := st.recent[id]
	st.mu.Unlock()
	if now := time.Now(); ok && now.Sub(r.at) < recentFor && freshUntil(st.expiry(r.s.Created, r.s.LastSeen), now) {
		return r.s, true, nil
	}
	ctx, cancel := st.c.ctx(ctx)
	defer cancel()
	v, err := st.c.rdb.HMGet(ctx, st.c.key("s", id), "u", "c", "l").Result()
	if err != nil {
		return auth.Session{}, false, st.c.fail("session get", err)
	}
	s, ok := decodeSession(id, v)
	return s, ok, nil
}

func decodeSession(id string, v []any) (auth.Session, bool) {
	if len(v) != 3 {
		return auth.Session{}, false
	}
	u, ok1 := v[0].(string)
	c, ok2 := v[1].(string)
	l, ok3 := v[2].(string)
	if !ok1 || !ok2 || !ok3 {
		return auth.Session{}, false
	}
	cn, err1 := strconv.ParseInt(c, 10, 64)
	ln, err2 := strconv.ParseInt(l, 10, 64)
	if err1 != nil || err2 != nil {
		return auth.Session{}, false
	}
	return auth.Session{ID: id, User: u, Created: time.Unix(0, cn).UTC(), LastSeen: time.Unix(0, ln).UTC()}, true
}

// byUserScript returns id, user, created, lastSeen of each of the user's
// sessions, oldest first, dropping index entries whose session is gone.
// KEYS: u:<user>. ARGV: session-key prefix.
var byUserScript = redis.NewScript(`
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local v = redis.call('HMGET', ARGV[1] .. id, 'u', 'c', 'l')
  if v[1] then
    table.insert(out, id); table.insert(out, v[1]); table.insert(out, v[2]); table.insert(out, v[3])
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out`)

// ByUser returns the user's sessions, oldest first.
func (st *Sessions) ByUser(ctx context.Context, user string) ([]auth.Session, error) {
	now := time.Now()
	st.mu.Lock()
	e, ok := st.users[user]
	gen := st.gen
	st.mu.Unlock()
	if ok && e.usable(now) {
		return append([]auth.Session(nil), e.ss...), nil
	}
	return st.byUser(ctx, user, gen)
}

// BySuffix returns the user's sessions whose id ends in suffix
// (auth.SuffixLister), from this gateway's cache under the same rules as
// ByUser. A suffix of protocol.SuffixLen characters (what signed requests
// carry) is looked up in the cache's index, without copying: the caller
// must not modify the slice.
func (st *Sessions) BySuffix(ctx context.Context, user, suffix string) ([]auth.Session, error) {
	now := time.Now()
	st.mu.Lock()
	e, ok := st.users[user]
	gen := st.gen
	st.mu.Unlock()
	cached := ok && e.usable(now)
	if cached && len(suffix) == protocol.SuffixLen {
		return e.bySuffix[suffix], nil
	}
	all := e.ss
	if !cached {
		var err error
		if all, err = st.byUser(ctx, user, gen); err != nil {
			return nil, err
		}
	}
	var out []auth.Session
	for _, s := range all {
		if strings.HasSuffix(s.ID, suffix) {
			out = append(out, s)
		}
	}
	return out, nil
}

// ByUserFresh is ByUser read from Redis, never from this gateway's cache
// (auth.FreshLister).
func (st *Sessions) ByUserFresh(ctx context.Context, user string) ([]auth.Session, error) {
	st.mu.Lock()
	gen := st.gen
	st.mu.Unlock()
	return st.byUser(ctx, user, gen)
}

func (st *Sessions) byUser(ctx context.Context, user string, gen uint64) ([]auth.Session, error) {
	now := time.Now()
	ctx, cancel := st.c.ctx(ctx)
	defer cancel()
	v, err := byUserScript.Run(ctx, st.c.rdb, []string{st.c.key("u", user)}, st.c.key("s", "")).StringSlice()
	if err != nil {
		return nil, st.c.fail("session list", err)
	}
	out := make([]auth.Session, 0, len(v)/4)
	st.mu.Lock()
	if len(st.recent) > maxMemo {
		clear(st.recent)
	}
	if len(st.users) > maxMemo {
		clear(st.users)
	}
	for i := 0; i+3 < len(v); i += 4 {
		if s, ok := decodeSession(v[i], []any{v[i+1], v[i+2], v[i+3]}); ok {
			out = append(out, s)
			st.recent[s.ID] = recentSession{s: s, at: now}
		}
	}
	if st.gen == gen {
		e := userEntry{ss: append([]auth.Session(nil), out...), at: now, bySuffix: make(map[string][]auth.Session, len(out))}
		for i, s := range e.ss {
			if exp := st.expiry(s.Created, s.LastSeen); i == 0 || exp.Before(e.soonest) {
				e.soonest = exp
			}
			k := s.ID[max(len(s.ID)-protocol.SuffixLen, 0):]
			e.bySuffix[k] = append(e.bySuffix[k], s)
		}
		st.users[user] = e
	}
	st.mu.Unlock()
	return out, nil
}

// freshUntil reports whether a session expiring at exp (by what this
// gateway knows) is not due to expire within userCacheFor + touchEvery of
// now, so that the cache never makes a session look expired (which would
// end it): near its expiry it is read from Redis, where other gateways'
// touches are.
func freshUntil(exp, now time.Time) bool {
	return exp.After(now.Add(userCacheFor + touchEvery))
}

// touchScript moves lastSeen forward and the expiry with it.
// KEYS: s:<id>, exp. ARGV: id, at ns, idle ns, lifetime ns.
// Returns 0 if the session does not exist.
var touchScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'c', 'l')
if not v[1] then return 0 end
local at = tonumber(ARGV[2])
local last = tonumber(v[2])
if at > last then
  redis.call('HSET', KEYS[1], 'l', ARGV[2])
  last = at
end
local exp = math.min(last + tonumber(ARGV[3]), tonumber(v[1]) + tonumber(ARGV[4]))
exp = math.floor(exp / 1000000)
redis.call('PEXPIREAT', KEYS[1], exp)
redis.call('ZADD', KEYS[2], exp, ARGV[1])
return 1`)

// Touch sets LastSeen of session id to at unless it is already later.
func (st *Sessions) Touch(ctx context.Context, id string, at time.Time) error {
	st.mu.Lock()
	last, ok := st.touched[id]
	st.mu.Unlock()
	if ok && !at.Before(last) && at.Sub(last) < touchEvery {
		return nil // written less than touchEvery ago by this gateway
	}
	ctx, cancel := st.c.ctx(ctx)
	defer cancel()
	n, err := touchScript.Run(ctx, st.c.rdb, []string{st.c.key("s", id), st.c.key("exp")},
		id, at.UnixNano(), st.cfg.IdleTimeout.Nanoseconds(), st.cfg.MaxLifetime.Nanoseconds()).Int()
	if err != nil {
		return st.c.fail("session touch", err)
	}
	if n == 0 {
		st.forget(id)
		return auth.ErrNoSession
	}
	st.mu.Lock()
	if len(st.touched) > maxMemo {
		clear(st.touched)
	}
	st.touched[id] = at
	st.mu.Unlock()
	return nil
}

// Delete ends session id on every gateway: it is removed and announced on
// the ended channel. An unknown id is not an error (and not announced).
func (st *Sessions) Delete(ctx context.Context, id string) error {
	return st.end(ctx, id, 0)
}

func (st *Sessions) end(ctx context.Context, id string, dueBy int64) error {
	st.forget(id)
	ctx, cancel := st.c.ctx(ctx)
	defer cancel()
	err := endScript.Run(ctx, st.c.rdb, []string{st.c.key("s", id), st.c.key("exp")},
		id, dueBy, st.c.key("u", ""), st.c.key("ended")).Err()
	st.forget(id) // again: a ByUser may have read it meanwhile
	return st.c.fail("session delete", err)
}

// Sweep ends the sessions whose expiry is due at now (at most limit per
// call, 0 = 1000), announcing each on the ended channel so that every
// gateway closes their WebSockets. Any gateway may run it; a session is
// ended and announced once. It returns how many it ended.
func (st *Sessions) Sweep(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = 1000
	}
	qctx, cancel := st.c.ctx(ctx)
	ids, err := st.c.rdb.ZRangeArgs(qctx, redis.ZRangeArgs{Key: st.c.key("exp"), ByScore: true,
		Start: "-inf", Stop: strconv.FormatInt(now.UnixMilli(), 10), Count: int64(limit)}).Result()
	cancel()
	if err != nil {
		return 0, st.c.fail("session sweep", err)
	}
	n := 0
	for _, id := range ids {
		if err := st.end(ctx, id, now.UnixMilli()); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Watch calls ended with the id of every session that ends on any gateway
// (logout, eviction by the per-user cap, expiry found by Sweep), until ctx
// ends. It resubscribes by itself after Redis comes back; announcements
// made while this gateway was cut off are lost, which is why the WebSocket
// keep-alive re-checks its session too. ended must not block for long.
func (st *Sessions) Watch(ctx context.Context, ended func(id string)) {
	ps := st.c.rdb.Subscribe(ctx, st.c.key("ended"), st.c.key("login"))
	defer ps.Close()
	ch := ps.Channel(redis.WithChannelHealthCheckInterval(5 * time.Second))
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			if m.Channel == st.c.key("login") {
				st.forgetUser(m.Payload)
				continue
			}
			st.forget(m.Payload)
			ended(m.Payload)
		}
	}
}

// Subscribed waits until the Watch subscription is active (for tests and
// start-up ordering): it returns once Redis reports at least n subscribers
// on the ended channel.
func (st *Sessions) Subscribed(ctx context.Context, n int) error {
	for {
		v, err := st.c.rdb.PubSubNumSub(ctx, st.c.key("ended")).Result()
		if err != nil {
			return err
		}
		if v[st.c.key("ended")] >= int64(n) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Count is the number of sessions held (of every gateway), expired ones
// not yet swept included.
func (st *Sessions) Count(ctx context.Context) (int64, error) {
	ctx, cancel := st.c.ctx(ctx)
	defer cancel()
	n, err := st.c.rdb.ZCard(ctx, st.c.key("exp")).Result()
	return n, st.c.fail("session count", err)
}
