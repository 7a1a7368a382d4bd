package server

import (
	"context"
	"time"

	"github.com/qconnect/qconnect"
)

// Retain enforces the retention of every publishing method that declares
// one (catalog publish.retention), every interval until ctx ends: its
// backend, if a qconnect.Pruner, deletes the table's rows beyond the
// bounds. A table's pruning does not overlap the writes of its publishes
// (pipe.go: they wait; accepting publishes, calls and queries do not).
func (s *Server) Retain(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.PruneOnce(ctx)
		}
	}
}

// PruneOnce runs one retention pass and returns the rows deleted.
func (s *Server) PruneOnce(ctx context.Context) int64 {
	var total int64
	for _, m := range s.deps.Catalog.Methods {
		if !m.Publish || m.Stream == nil || m.Stream.Retention == nil {
			continue
		}
		b, err := s.backendFor(m)
		if err != nil {
			continue
		}
		p, ok := b.(qconnect.Pruner)
		if !ok {
			continue
		}
		w := &s.pipe(m.Stream.Table).writing
		w.Lock()
		n, err := p.Prune(ctx, m.Stream.Table, *m.Stream.Retention, s.cfg.Now())
		w.Unlock()
		total += n
		if err != nil && ctx.Err() == nil {
			s.log.Warn("retention: deleting old published rows failed; retrying at the next pass", "table", m.Stream.Table, "error", err)
			continue
		}
		if n > 0 {
			s.log.Debug("retention: old published rows deleted", "table", m.Stream.Table, "rows", n)
		}
	}
	return total
}
