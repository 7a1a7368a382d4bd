package server

import (
	"context"
	"sort"
	"strings"

	"github.com/qconnect/qconnect"
)

// StreamRelay carries publishes between the gateways of one deployment
// (Deps.Shared.Streams; redisstate.StreamRelay). With it, a publish is
// validated on the gateway that received it and then handed to Publish;
// every gateway (that one too) gets it back, in one order per table, and
// stores and fans it out through ApplyPublished. Publish fails (unavailable)
// only if the rows were not published.
type StreamRelay interface {
	Publish(ctx context.Context, table, method string, rows []byte) error
}

// PublishedTables lists the tables that publishing methods write to, in
// lower case: the streams a StreamRelay must follow.
func (s *Server) PublishedTables() []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range s.deps.Catalog.Methods {
		if m.Publish && m.Stream != nil && m.Stream.Table != "" && !seen[strings.ToLower(m.Stream.Table)] {
			seen[strings.ToLower(m.Stream.Table)] = true
			out = append(out, strings.ToLower(m.Stream.Table))
		}
	}
	sort.Strings(out)
	return out
}

// ApplyPublished stores rows published through method (on any gateway,
// already validated there) and fans them out to this gateway's
// subscribers: the local half of a relayed publish. It returns once the
// rows are accepted in the table's order here (pipe.go): calls on this
// gateway see them from then on. A publish to a live source shared by
// every gateway is not applied here: its own gateway sent it, once.
func (s *Server) ApplyPublished(ctx context.Context, method string, raw []byte) error {
	m, ok := s.deps.Catalog.LookupFull(method)
	if !ok || !m.Publish || m.Stream == nil {
		return qconnect.Errorf(qconnect.CodeUnknownMethod, "%s is not a publishing method of this gateway's catalog; give every gateway the same catalog", method)
	}
	rows, err := decodeRows(m, raw)
	if err != nil || len(rows) == 0 {
		return err
	}
	backend, err := s.backendFor(m)
	if err != nil {
		return err
	}
	app, ok := backend.(qconnect.Appender)
	if !ok {
		return qconnect.Errorf(qconnect.CodeAnalyticError, "the backend of %s does not accept published rows", m.FullName())
	}
	if sharedLive(backend) {
		// The gateway that received the publish sent it to the live
		// source, whose feed reaches every gateway's subscribers;
		// applying it here too would send it twice.
		return nil
	}
	timeout, _ := s.Limits(m)
	_, live := backend.(qconnect.LiveSource)
	r := s.pipe(m.Stream.Table).enqueue(m, app, !live, rows, timeout, false)
	if r.waited {
		// The table's first publish, one after a failed commit, or a full
		// queue: the reader waits (back-pressure), and reports a failure.
		select {
		case err := <-r.done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// StreamLost ends, with SubscriptionEndMsg slowConsumer, every subscription
// on this gateway to a streaming method of table: this gateway missed some
// of the table's publishes (it fell behind what the shared stream keeps),
// and a subscriber must never be left with a silent gap. The sockets stay
// open; the clients may subscribe again.
func (s *Server) StreamLost(table string) {
	s.ws.mu.Lock()
	conns := make([]*wsConn, 0, len(s.ws.conns))
	for c := range s.ws.conns {
		conns = append(conns, c)
	}
	s.ws.mu.Unlock()
	lost := &qconnect.Error{Code: qconnect.CodeSlowConsumer,
		Message: "this gateway fell behind the shared stream of " + table + " and missed updates; subscribe again"}
	for _, c := range conns {
		c.mu.Lock()
		var subs []*wsSub
		for _, sub := range c.subs {
			if sub.method.Stream != nil && strings.EqualFold(sub.method.Stream.Table, table) {
				subs = append(subs, sub)
			}
		}
		c.mu.Unlock()
		for _, sub := range subs {
			s.counters.slowCuts.Add(1)
			c.endSub(sub, lost)
		}
	}
}
