package auth

import (
	"context"
	"strings"
	"sync"
	"time"
)

// MemoryStore is a Store (and Lister) in this process's memory, for a single
// gateway. Its size is bounded by the number of users times
// SessionConfig.MaxPerUser, as Sessions enforces.
type MemoryStore struct {
	mu     sync.Mutex
	byID   map[string]Session
	byUser map[string]map[string]struct{}
	// bySuffix indexes ids by user and the last protocol.SuffixLen
	// characters of the id (suffixKey), for BySuffix: the signed-request
	// path asks for exactly those.
	bySuffix map[string][]string
}

// suffixLen is protocol.SuffixLen (auth does not import protocol).
const suffixLen = 5

func suffixOf(id string) string {
	if len(id) <= suffixLen {
		return id
	}
	return id[len(id)-suffixLen:]
}

func suffixKey(user, suffix string) string { return user + "\x00" + suffix }

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{byID: map[string]Session{}, byUser: map[string]map[string]struct{}{}, bySuffix: map[string][]string{}}
}

// Put stores s, replacing a session with the same id.
func (m *MemoryStore) Put(_ context.Context, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.byID[s.ID]; ok {
		m.unindex(old)
	}
	m.byID[s.ID] = s
	ids := m.byUser[s.User]
	if ids == nil {
		ids = map[string]struct{}{}
		m.byUser[s.User] = ids
	}
	ids[s.ID] = struct{}{}
	k := suffixKey(s.User, suffixOf(s.ID))
	m.bySuffix[k] = append(m.bySuffix[k], s.ID)
	return nil
}

// Get returns the session id.
func (m *MemoryStore) Get(_ context.Context, id string) (Session, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.byID[id]
	return s, ok, nil
}

// ByUser returns the user's sessions, oldest first.
func (m *MemoryStore) ByUser(_ context.Context, user string) ([]Session, error) {
	m.mu.Lock()
	out := make([]Session, 0, len(m.byUser[user]))
	for id := range m.byUser[user] {
		out = append(out, m.byID[id])
	}
	m.mu.Unlock()
	sortSessions(out)
	return out, nil
}

// BySuffix returns the user's sessions whose id ends in suffix, in no
// particular order (SuffixLister). A protocol.SuffixLen-character suffix
// (what an Authorization value carries) is looked up in an index; any
// other is matched against each of the user's sessions.
func (m *MemoryStore) BySuffix(_ context.Context, user, suffix string) ([]Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(suffix) != suffixLen {
		var out []Session
		for id := range m.byUser[user] {
			if strings.HasSuffix(id, suffix) {
				out = append(out, m.byID[id])
			}
		}
		return out, nil
	}
	ids := m.bySuffix[suffixKey(user, suffix)]
	if len(ids) == 0 {
		return nil, nil
	}
	out := make([]Session, 0, len(ids))
	for _, id := range ids {
		out = append(out, m.byID[id])
	}
	return out, nil
}

// Touch sets LastSeen of session id to at unless it is already later.
func (m *MemoryStore) Touch(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.byID[id]
	if !ok {
		return ErrNoSession
	}
	if at.After(s.LastSeen) {
		s.LastSeen = at
		m.byID[id] = s
	}
	return nil
}

// Delete removes session id; an unknown id is not an error.
func (m *MemoryStore) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.byID[id]; ok {
		m.unindex(s)
		delete(m.byID, id)
	}
	return nil
}

// List returns every session, oldest first.
func (m *MemoryStore) List(_ context.Context) ([]Session, error) {
	m.mu.Lock()
	out := make([]Session, 0, len(m.byID))
	for _, s := range m.byID {
		out = append(out, s)
	}
	m.mu.Unlock()
	sortSessions(out)
	return out, nil
}

// Len is the number of sessions held.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byID)
}

func (m *MemoryStore) unindex(s Session) {
	if ids := m.byUser[s.User]; ids != nil {
		delete(ids, s.ID)
		if len(ids) == 0 {
			delete(m.byUser, s.User)
		}
	}
	k := suffixKey(s.User, suffixOf(s.ID))
	ids := m.bySuffix[k]
	for i, id := range ids {
		if id == s.ID {
			ids = append(ids[:i:i], ids[i+1:]...)
			break
		}
	}
	if len(ids) == 0 {
		delete(m.bySuffix, k)
	} else {
		m.bySuffix[k] = ids
	}
}
