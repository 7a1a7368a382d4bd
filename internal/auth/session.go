package auth

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	qconnect "github.com/qconnect/qconnect"
)

// Session is one login (PROTOCOL 2 and 5). ID is the HMAC key of the
// session's signed requests: it is never logged.
type Session struct {
	ID, User string
	Created  time.Time
	LastSeen time.Time
}

// ErrNoSession is returned by a Store for a session it does not hold.
// Sessions returns it wrapped in a *qconnect.Error with code invalidSession
// (errors.Is(err, ErrNoSession) holds), so that the server can pass it on.
var ErrNoSession = errors.New("no such session")

// sessionEnded is the error for a session that does not exist or has ended.
func sessionEnded() error {
	return &qconnect.Error{Code: qconnect.CodeInvalidSession, Cause: ErrNoSession,
		Message: "the session has ended (logged out, expired or replaced by a newer login); log in again"}
}

// Store is where sessions live: memory now, Redis later (many gateways share
// one). Implementations are safe for concurrent use. Get of an unknown id
// returns ok false and no error; Touch of an unknown id returns ErrNoSession;
// Delete of an unknown id is not an error.
type Store interface {
	Put(ctx context.Context, s Session) error
	Get(ctx context.Context, id string) (Session, bool, error)
	// ByUser returns the user's sessions, oldest first.
	ByUser(ctx context.Context, user string) ([]Session, error)
	// Touch sets LastSeen to at unless it is already later.
	Touch(ctx context.Context, id string, at time.Time) error
	Delete(ctx context.Context, id string) error
}

// Lister is implemented by stores that can list every session; Sessions.Sweep
// needs it to find expired sessions nobody asks for. A store whose entries
// expire by themselves need not implement it.
type Lister interface {
	List(ctx context.Context) ([]Session, error)
}

// Session defaults (PROTOCOL 5).
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxLifetime = 12 * time.Hour
	DefaultMaxPerUser  = 16
)

// SessionConfig configures Sessions. Zero (or negative) values take the
// defaults.
type SessionConfig struct {
	IdleTimeout time.Duration    // default DefaultIdleTimeout (30m)
	MaxLifetime time.Duration    // default DefaultMaxLifetime (12h)
	MaxPerUser  int              // default DefaultMaxPerUser (16)
	Now         func() time.Time // default time.Now
}

// Sessions opens, checks, refreshes and ends sessions kept in a Store. A
// session ends after IdleTimeout without a signed request or MaxLifetime
// after login, whichever comes first; a user holds at most MaxPerUser
// sessions. Safe for concurrent use.
type Sessions struct {
	store Store
	cfg   SessionConfig

	openMu sync.Mutex // serialises Open, so the per-user cap holds on this gateway

	mu    sync.Mutex
	onEnd []func(sessionID string)
}

// NewSessions returns Sessions kept in store.
func NewSessions(store Store, cfg SessionConfig) *Sessions {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxLifetime <= 0 {
		cfg.MaxLifetime = DefaultMaxLifetime
	}
	if cfg.MaxPerUser <= 0 {
		cfg.MaxPerUser = DefaultMaxPerUser
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sessions{store: store, cfg: cfg}
}

// NewSessionID returns 32 bytes from crypto/rand in unpadded base64url: 43
// characters of [A-Za-z0-9_-].
func NewSessionID() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Open starts a session for user (already authenticated) with a new id. If
// the user then holds more than MaxPerUser live sessions, the oldest ones
// end (OnEnd callbacks run for them). Expired sessions of the user found on
// the way end too.
func (s *Sessions) Open(ctx context.Context, user string) (Session, error) {
	if user == "" {
		return Session{}, errors.New("auth: Open needs a username")
	}
	s.openMu.Lock()
	defer s.openMu.Unlock()
	now := s.cfg.Now()
	live, err := s.live(ctx, user, "", now)
	if err != nil {
		return Session{}, err
	}
	sortSessions(live)
	for len(live) >= s.cfg.MaxPerUser {
		if err := s.End(ctx, live[0].ID); err != nil {
			return Session{}, err
		}
		live = live[1:]
	}
	sess := Session{ID: NewSessionID(), User: user, Created: now, LastSeen: now}
	if err := s.store.Put(ctx, sess); err != nil {
		return Session{}, err
	}
	return sess, nil
}

// Candidates returns the live sessions of user whose id ends in suffix
// (several users' sessions may share a suffix, and so may one user's). The
// expired ones found are ended, not returned. An empty suffix matches none.
func (s *Sessions) Candidates(ctx context.Context, user, suffix string) ([]Session, error) {
	if suffix == "" {
		return nil, nil
	}
	return s.live(ctx, user, suffix, s.cfg.Now())
}

// live lists the user's unexpired sessions ending in suffix ("" = all),
// ending the expired ones.
func (s *Sessions) live(ctx context.Context, user, suffix string, now time.Time) ([]Session, error) {
	var all []Session
	var err error
	if sl, ok := s.store.(SuffixLister); ok && suffix != "" {
		all, err = sl.BySuffix(ctx, user, suffix)
	} else {
		all, err = s.store.ByUser(ctx, user)
	}
	if err != nil {
		return nil, err
	}
	if f, ok := s.store.(FreshLister); ok && suffix != "" && !anySuffix(all, suffix) {
		// A cached list may predate a login on another gateway: ask again.
		if all, err = f.ByUserFresh(ctx, user); err != nil {
			return nil, err
		}
	}
	var out []Session
	for _, sess := range all {
		if !strings.HasSuffix(sess.ID, suffix) {
			continue
		}
		if s.expired(sess, now) {
			if err := s.End(ctx, sess.ID); err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, sess)
	}
	return out, nil
}

// Get returns the live session id. An unknown or expired one (which it
// ends) is an invalidSession *qconnect.Error wrapping ErrNoSession.
func (s *Sessions) Get(ctx context.Context, id string) (Session, error) {
	sess, ok, err := s.store.Get(ctx, id)
	if err != nil {
		return Session{}, err
	}
	if !ok {
		return Session{}, sessionEnded()
	}
	if s.expired(sess, s.cfg.Now()) {
		if err := s.End(ctx, id); err != nil {
			return Session{}, err
		}
		return Session{}, sessionEnded()
	}
	return sess, nil
}

// TouchLive is Touch for a session just returned by Candidates (so known
// to be live a moment ago): it skips reading the session again. A session
// that has ended since is an invalidSession *qconnect.Error wrapping
// ErrNoSession, as with Touch.
func (s *Sessions) TouchLive(ctx context.Context, sess Session) error {
	now := s.cfg.Now()
	if s.expired(sess, now) {
		if err := s.End(ctx, sess.ID); err != nil {
			return err
		}
		return sessionEnded()
	}
	err := s.store.Touch(ctx, sess.ID, now)
	if errors.Is(err, ErrNoSession) {
		return sessionEnded()
	}
	return err
}

// Touch records activity on a live session, restarting its idle timer (it
// never extends MaxLifetime). A session that has ended or has just expired
// (which ends it) is an invalidSession *qconnect.Error wrapping ErrNoSession.
func (s *Sessions) Touch(ctx context.Context, id string) error {
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	err := s.store.Touch(ctx, id, s.cfg.Now())
	if errors.Is(err, ErrNoSession) {
		return sessionEnded()
	}
	return err
}

// End ends the session id (logout) and runs the OnEnd callbacks. Ending an
// unknown id is not an error, and the callbacks run for it too.
func (s *Sessions) End(ctx context.Context, id string) error {
	if err := s.store.Delete(ctx, id); err != nil {
		return err
	}
	s.mu.Lock()
	fs := slices.Clone(s.onEnd)
	s.mu.Unlock()
	for _, f := range fs {
		f(id)
	}
	return nil
}

// EndUser ends every session of user (their password changed or they were
// removed), running the OnEnd callbacks for each; it returns how many ended.
func (s *Sessions) EndUser(ctx context.Context, user string) (int, error) {
	ss, err := s.store.ByUser(ctx, user)
	if err != nil {
		return 0, err
	}
	for i, sess := range ss {
		if err := s.End(ctx, sess.ID); err != nil {
			return i, err
		}
	}
	return len(ss), nil
}

// Expiry is when sess ends unless touched again: the earlier of LastSeen +
// IdleTimeout and Created + MaxLifetime.
func (s *Sessions) Expiry(sess Session) time.Time {
	idle := sess.LastSeen.Add(s.cfg.IdleTimeout)
	abs := sess.Created.Add(s.cfg.MaxLifetime)
	if abs.Before(idle) {
		return abs
	}
	return idle
}

// Deadline is the session's absolute expiry, Created + MaxLifetime: the
// "expires" of LoginResp and PingResp (PROTOCOL 2 and 5). Idle expiry comes
// earlier when the session is not used for IdleTimeout.
func (s *Sessions) Deadline(sess Session) time.Time {
	return sess.Created.Add(s.cfg.MaxLifetime)
}

func (s *Sessions) expired(sess Session, now time.Time) bool {
	return !now.Before(s.Expiry(sess))
}

// IdleTimeout is the configured idle timeout.
func (s *Sessions) IdleTimeout() time.Duration { return s.cfg.IdleTimeout }

// MaxLifetime is the configured absolute lifetime.
func (s *Sessions) MaxLifetime() time.Duration { return s.cfg.MaxLifetime }

// OnEnd registers f to run whenever a session ends: logout (End), expiry
// noticed by any method or by Sweep, or eviction by the per-user cap. f runs
// synchronously on the ending goroutine, so it must not block (the server
// closes the session's WebSockets and forgets its replay ids). It may be
// called for an id that has already ended.
func (s *Sessions) OnEnd(f func(sessionID string)) {
	s.mu.Lock()
	s.onEnd = append(s.onEnd, f)
	s.mu.Unlock()
}

// Sweep ends every expired session, if the store is a Lister; the server
// calls it periodically so that idle sessions end (and their WebSockets
// close) even if nobody uses them again. It stops early when ctx ends.
func (s *Sessions) Sweep(ctx context.Context) {
	l, ok := s.store.(Lister)
	if !ok {
		return
	}
	all, err := l.List(ctx)
	if err != nil {
		return
	}
	now := s.cfg.Now()
	for _, sess := range all {
		if ctx.Err() != nil {
			return
		}
		if s.expired(sess, now) {
			s.End(ctx, sess.ID)
		}
	}
}

// sortSessions orders sessions oldest first (then by id, for a stable order).
func sortSessions(ss []Session) {
	slices.SortFunc(ss, func(a, b Session) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// FreshLister is a Store whose ByUser may answer from a cache (a shared
// store's per-gateway cache): ByUserFresh bypasses it. Candidates uses it
// when the cached list has no session with the wanted suffix, so that a
// session just opened on another gateway is found at once.
type FreshLister interface {
	ByUserFresh(ctx context.Context, user string) ([]Session, error)
}

// SuffixLister is a Store that can list a user's sessions by the suffix of
// their id (the part an Authorization value carries) without listing them
// all; Candidates uses it. BySuffix returns them in any order, in a slice
// the caller reads and must not modify (it may be the store's own).
type SuffixLister interface {
	BySuffix(ctx context.Context, user, suffix string) ([]Session, error)
}

func anySuffix(ss []Session, suffix string) bool {
	for _, s := range ss {
		if strings.HasSuffix(s.ID, suffix) {
			return true
		}
	}
	return false
}
