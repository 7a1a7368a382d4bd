package auth

import (
	"errors"
	"sync"
	"sync/atomic"
)

// UserDB holds the Directory in force and replaces it on Reload (the server
// calls Reload on SIGHUP). Readers call Current once per request and use
// that Directory throughout, so a request never sees two versions. It is
// safe for concurrent use.
type UserDB struct {
	path string // "" for a static directory
	cur  atomic.Pointer[Directory]
	mu   sync.Mutex // serialises reloads
}

// NewUserDB loads the users file at path now. The error names file:line.
func NewUserDB(path string) (*UserDB, error) {
	d, err := LoadUsers(path)
	if err != nil {
		return nil, err
	}
	u := &UserDB{path: path}
	u.cur.Store(d)
	return u, nil
}

// NewStaticUserDB holds d for good, for the demo mode that has no users file.
// Its Reload returns an error.
func NewStaticUserDB(d *Directory) *UserDB {
	u := &UserDB{}
	u.cur.Store(d)
	return u
}

// Current returns the Directory in force.
func (u *UserDB) Current() *Directory { return u.cur.Load() }

// Path is the users file, "" for a static UserDB.
func (u *UserDB) Path() string { return u.path }

// Reload reads the users file again. On success the new Directory is in
// force for every later Current call; on failure the old one stays and the
// error names file:line of each problem.
func (u *UserDB) Reload() error {
	if u.path == "" {
		return errors.New("there is no users file to reload: the gateway runs with its built-in demo users; start it with --users FILE to manage users")
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	d, err := LoadUsers(u.path)
	if err != nil {
		return err
	}
	u.cur.Store(d)
	return nil
}
