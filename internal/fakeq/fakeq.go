// Package fakeq is a FAKE kdb+ process for tests. No licensed kdb+ is
// available on the machines that build qconnect, so the kdb+ backend's tests
// run against this stand-in instead: it is not q, evaluates no q code, and
// must never be mistaken for a real kdb+ process.
//
// What it does for real is the wire: it speaks the kdb+ IPC protocol with
// the codec of kdb/ipc (handshake with capability negotiation, sync and
// async messages, responses, q error replies, and compression of large
// replies exactly as q compresses them). On top of that it answers a fixed
// set of functions from fixed tables (Example registers the functions of
// examples/kdb's q script), and it can act as a tickerplant: .u.sub[t;syms]
// returns (t; snapshot) and Publish pushes (`upd; t; rows) to subscribers,
// while .u.upd[t;rows] appends and publishes.
//
// Tests steer it to misbehave on purpose: RefuseLogin closes the socket on
// a login like q with a bad password, Stall holds a function's calls until
// released, DropNext cuts the next reply in the middle and closes the
// connection, and DropSubscribers closes every subscriber's socket (a
// tickerplant restart).
package fakeq

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"

	"github.com/qconnect/qconnect/kdb/ipc"
)

// Func answers a call: args are the decoded arguments (q's function
// application f[a;b;...]). A returned *ipc.Error becomes a q error reply.
type Func func(args []any) (any, error)

// Server is a fake q process listening on 127.0.0.1.
type Server struct {
	ln net.Listener

	mu            sync.Mutex
	users         map[string]string // nil: any login
	refuse        bool
	funcs         map[string]Func
	stalls        map[string]chan struct{}
	drops         map[string]int
	tables        map[string]*ipc.Table
	subs          map[*conn][]subscription
	conns         map[*conn]struct{}
	compressAbove int
	calls         map[string]int
	logins        int
	closed        bool
	wg            sync.WaitGroup
}

type subscription struct {
	table string
	syms  map[string]bool // nil: every sym
}

type conn struct {
	nc  net.Conn
	wmu sync.Mutex
}

// Start starts a fake q process on a free port of 127.0.0.1. It compresses
// replies larger than 2000 bytes, as q does for remote clients.
func Start() (*Server, error) { return StartTLS(nil) }

// StartTLS is Start with TLS on the socket (q started with -E), when cfg
// is not nil.
func StartTLS(cfg *tls.Config) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	s := &Server{ln: ln, funcs: map[string]Func{}, stalls: map[string]chan struct{}{},
		drops: map[string]int{}, tables: map[string]*ipc.Table{}, subs: map[*conn][]subscription{},
		conns: map[*conn]struct{}{}, compressAbove: 2000, calls: map[string]int{}}
	s.funcs[".u.upd"] = s.upd
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr returns host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and closes every connection.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.nc.Close()
	}
	for name, ch := range s.stalls {
		close(ch)
		delete(s.stalls, name)
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

// SetUsers makes the server accept only these user:password pairs.
func (s *Server) SetUsers(users map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = users
}

// RefuseLogin makes every login fail (the socket is closed) while on.
func (s *Server) RefuseLogin(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = on
}

// SetCompressAbove sets the reply size above which replies are compressed
// (when that halves them); 0 never compresses.
func (s *Server) SetCompressAbove(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.compressAbove = n
}

// Handle registers a function under its name (e.g. ".monPublic.getMem").
func (s *Server) Handle(name string, f Func) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.funcs[name] = f
}

// Stall holds every call of name until the returned release is called (or
// the server is closed), like a long-running q function.
func (s *Server) Stall(name string) (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.stalls[name] = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.stalls[name] == ch {
				delete(s.stalls, name)
				close(ch)
			}
			s.mu.Unlock()
		})
	}
}

// DropNext makes the next reply to a call of name stop half-way and the
// connection close.
func (s *Server) DropNext(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drops[name]++
}

// Calls returns how many calls of name were received.
func (s *Server) Calls(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[name]
}

// Logins returns the number of successful logins.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// Conns returns the number of open client connections.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Subscribers returns the number of connections subscribed to table.
func (s *Server) Subscribers(table string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, subs := range s.subs {
		for _, sb := range subs {
			if sb.table == table {
				n++
			}
		}
	}
	return n
}

// DropSubscribers closes the socket of every subscribed connection, as a
// tickerplant restart does.
func (s *Server) DropSubscribers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.subs {
		c.nc.Close()
		delete(s.subs, c)
	}
}

// SetTable sets a tickerplant table (its schema and current rows).
func (s *Server) SetTable(name string, t ipc.Table) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := t
	s.tables[name] = &cp
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &conn{nc: nc}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			delete(s.subs, c)
			s.mu.Unlock()
			nc.Close()
		}()
	}
}

// handshake reads "user:password" + capability + NUL and answers with the
// accepted capability, or closes the socket.
func (s *Server) handshake(c *conn) bool {
	var hello []byte
	b := make([]byte, 1)
	for {
		if _, err := c.nc.Read(b); err != nil {
			return false
		}
		if b[0] == 0 {
			break
		}
		if len(hello) > 1024 {
			return false
		}
		hello = append(hello, b[0])
	}
	if len(hello) == 0 {
		return false
	}
	capability := hello[len(hello)-1]
	cred := string(hello[:len(hello)-1])
	if capability >= ' ' { // a client that sends no capability byte (v2.5)
		cred, capability = string(hello), 0
	}
	user, password, _ := bytes.Cut([]byte(cred), []byte(":"))
	s.mu.Lock()
	ok := !s.refuse
	if ok && s.users != nil {
		want, known := s.users[string(user)]
		ok = known && want == string(password)
	}
	if ok {
		s.logins++
	}
	s.mu.Unlock()
	if !ok {
		return false
	}
	_, err := c.nc.Write([]byte{min(capability, ipc.Capability)})
	return err == nil
}

func (s *Server) serve(c *conn) {
	if !s.handshake(c) {
		return
	}
	for {
		m, err := ipc.ReadMessage(c.nc, 0)
		if err != nil {
			return
		}
		v, err := m.Decode()
		var name string
		var result any
		if err != nil {
			result = &ipc.Error{Msg: "fakeq: " + err.Error()}
		} else {
			name, result = s.eval(c, v)
		}
		if m.Type != ipc.Sync {
			continue
		}
		if !s.reply(c, name, result) {
			return
		}
	}
}

func (s *Server) reply(c *conn, name string, result any) bool {
	s.mu.Lock()
	above := s.compressAbove
	drop := s.drops[name] > 0
	if drop {
		s.drops[name]--
	}
	s.mu.Unlock()
	msg, err := ipc.EncodeMessage(ipc.Response, result, above)
	if err != nil {
		msg, _ = ipc.EncodeMessage(ipc.Response, &ipc.Error{Msg: "fakeq: " + err.Error()}, 0)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if drop {
		c.nc.Write(msg[:len(msg)/2])
		c.nc.Close()
		return false
	}
	_, err = c.nc.Write(msg)
	return err == nil
}

// fixedExprs are the only q expressions the fake "evaluates".
var fixedExprs = map[string]any{"1b": true}

// eval applies a message's value: (`f; args...) or ("f"; args...) calls f,
// a symbol or string alone calls f with no arguments.
func (s *Server) eval(c *conn, v any) (string, any) {
	var name string
	var args []any
	switch x := v.(type) {
	case ipc.Symbol:
		name = string(x)
	case string:
		if r, ok := fixedExprs[x]; ok {
			return x, r // the health check of engine/kdb
		}
		name = x
	case []any:
		if len(x) == 0 {
			return "", &ipc.Error{Msg: "fakeq: empty list"}
		}
		switch h := x[0].(type) {
		case ipc.Symbol:
			name = string(h)
		case string:
			name = h
		default:
			return "", &ipc.Error{Msg: "fakeq: only function calls are supported (this is not q)"}
		}
		args = x[1:]
	default:
		return "", &ipc.Error{Msg: "fakeq: only function calls are supported (this is not q)"}
	}
	if name == ".u.sub" {
		s.mu.Lock()
		s.calls[name]++
		s.mu.Unlock()
		r, err := s.subscribe(c, args)
		if err != nil {
			return name, err
		}
		return name, r
	}
	s.mu.Lock()
	f := s.funcs[name]
	stall := s.stalls[name]
	s.calls[name]++
	s.mu.Unlock()
	if f == nil {
		return name, &ipc.Error{Msg: name} // q's 'name for an undefined name
	}
	if stall != nil {
		<-stall
	}
	r, err := f(args)
	if err != nil {
		var qe *ipc.Error
		if errors.As(err, &qe) {
			return name, qe
		}
		return name, &ipc.Error{Msg: err.Error()}
	}
	return name, r
}

// subscribe is .u.sub[t; syms]: syms is ` for every sym or a symbol list.
// It returns (t; the table's current rows for syms).
func (s *Server) subscribe(c *conn, args []any) (any, *ipc.Error) {
	if len(args) != 2 {
		return nil, &ipc.Error{Msg: "rank"}
	}
	t, ok := args[0].(ipc.Symbol)
	if !ok {
		return nil, &ipc.Error{Msg: "type"}
	}
	sb := subscription{table: string(t)}
	switch x := args[1].(type) {
	case ipc.Symbol:
		if x != "" {
			sb.syms = map[string]bool{string(x): true}
		}
	case []string:
		sb.syms = map[string]bool{}
		for _, y := range x {
			sb.syms[y] = true
		}
	default:
		return nil, &ipc.Error{Msg: "type"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tbl, ok := s.tables[string(t)]
	if !ok {
		return nil, &ipc.Error{Msg: string(t)}
	}
	s.subs[c] = append(s.subs[c], sb)
	return []any{t, filterSyms(*tbl, sb.syms)}, nil
}

func (s *Server) upd(args []any) (any, error) {
	if len(args) != 2 {
		return nil, &ipc.Error{Msg: "rank"}
	}
	t, ok := args[0].(ipc.Symbol)
	if !ok {
		return nil, &ipc.Error{Msg: "type"}
	}
	rows, err := s.asTable(string(t), args[1])
	if err != nil {
		return nil, err
	}
	if err := s.Publish(string(t), rows); err != nil {
		return nil, err
	}
	return ipc.Identity{}, nil
}

// asTable accepts a table or a list of columns (what .u.upd receives).
func (s *Server) asTable(name string, v any) (ipc.Table, error) {
	s.mu.Lock()
	schema, ok := s.tables[name]
	s.mu.Unlock()
	if !ok {
		return ipc.Table{}, &ipc.Error{Msg: name}
	}
	switch x := v.(type) {
	case ipc.Table:
		if fmt.Sprint(x.Columns) != fmt.Sprint(schema.Columns) {
			return ipc.Table{}, &ipc.Error{Msg: "mismatch"}
		}
		return x, nil
	case []any:
		if len(x) != len(schema.Columns) {
			return ipc.Table{}, &ipc.Error{Msg: "length"}
		}
		return ipc.Table{Columns: schema.Columns, Data: x}, nil
	}
	return ipc.Table{}, &ipc.Error{Msg: "type"}
}

// Publish appends rows to the tickerplant table and sends
// (`upd; `table; rows) to every subscriber, each getting the rows of its
// syms only. Column types must match the table's.
func (s *Server) Publish(table string, rows ipc.Table) error {
	s.mu.Lock()
	t, ok := s.tables[table]
	if !ok {
		s.mu.Unlock()
		return &ipc.Error{Msg: table}
	}
	merged, err := appendTable(*t, rows)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	*t = merged
	type target struct {
		c    *conn
		rows ipc.Table
	}
	var targets []target
	for c, subs := range s.subs {
		for _, sb := range subs {
			if sb.table != table {
				continue
			}
			r := filterSyms(rows, sb.syms)
			if n, _ := tableLen(r); n > 0 {
				targets = append(targets, target{c, r})
			}
		}
	}
	s.mu.Unlock()
	sort.Slice(targets, func(i, j int) bool { return fmt.Sprintf("%p", targets[i].c) < fmt.Sprintf("%p", targets[j].c) })
	for _, tg := range targets {
		msg, err := ipc.EncodeMessage(ipc.Async, []any{ipc.Symbol("upd"), ipc.Symbol(table), tg.rows}, 0)
		if err != nil {
			return err
		}
		tg.c.wmu.Lock()
		tg.c.nc.Write(msg)
		tg.c.wmu.Unlock()
	}
	return nil
}
