package stream

import (
	"bytes"
	"context"

	"github.com/qconnect/qconnect"
)

// pump reads the feed of a live upstream until it ends or the upstream
// closes, fanning each event out: updates exactly like published rows
// (filters, projection, conflation, seq), snapshots and resets as
// SnapshotMsg frames (KindSnapshot, KindReset).
func (up *upstream) pump(ctx context.Context, feed qconnect.Feed) {
	defer feed.Close()
	cols := feed.Columns()
	for {
		ev, err := feed.Next(ctx)
		if ctx.Err() != nil {
			return // the upstream closed
		}
		if err != nil {
			up.fail(err)
			return
		}
		now := up.hub.cfg.Now()
		var lost bool
		switch ev.Kind {
		case qconnect.LiveUpdate:
			if ev.Batch != nil {
				lost = up.publish(cols, ev.Batch.Rows(), now)
			}
		case qconnect.LiveSnapshot, qconnect.LiveReset:
			kind := KindSnapshot
			if ev.Kind == qconnect.LiveReset {
				kind = KindReset
			}
			var rows [][]any
			if ev.Batch != nil {
				rows = up.project(cols, ev.Batch.Rows())
			}
			b := &Batch{Kind: kind, Columns: up.enc.Columns(), Rows: rows, JSON: up.enc.arrayJSON(rows), Time: now}
			up.mu.Lock()
			if !up.closed {
				up.stated = true
				up.replay, up.replayBytes, up.replayLost = nil, 0, false
				lost = up.deliverLocked(b)
			}
			up.mu.Unlock()
		}
		if lost {
			up.hub.reap(up)
		}
	}
}

// project filters rows of cols and takes the upstream's columns by name.
func (up *upstream) project(cols []qconnect.Column, rows [][]any) [][]any {
	mcols := up.enc.Columns()
	proj := make([]int, len(mcols))
	for i, c := range mcols {
		proj[i] = columnIndex(cols, c.Name)
	}
	fidx := make([]int, len(up.filters))
	for i, f := range up.filters {
		fidx[i] = columnIndex(cols, f.column)
	}
	out := make([][]any, 0, len(rows))
	for _, r := range rows {
		if !up.matches(r, fidx) {
			continue
		}
		p := make([]any, len(proj))
		for i, j := range proj {
			if j >= 0 && j < len(r) {
				p[i] = r[j]
			}
		}
		out = append(out, p)
	}
	return out
}

// arrayJSON encodes rows as one JSON array.
func (e *RowEncoder) arrayJSON(rows [][]any) []byte {
	buf := []byte{'['}
	for i, r := range rows {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = e.AppendRow(buf, r)
	}
	return append(buf, ']')
}

// recordLocked keeps b for subscribers that join later (see replay), once
// the source has stated its state (a snapshot or a reset): a source that
// sends only updates is joined like published rows, from the next update.
func (up *upstream) recordLocked(b *Batch) {
	if up.replayLost || !up.stated {
		return
	}
	up.replayBytes += int64(len(b.JSON))
	if up.replayBytes > up.hub.cfg.MaxHeldBytes {
		up.replay, up.replayBytes, up.replayLost = nil, 0, true
		return
	}
	up.replay = append(up.replay, b)
}

// joinSnapshotLocked is the first frame of a subscriber joining a live
// upstream that has had events (before the first, the source's own
// snapshot reaches every subscriber): a SnapshotMsg of the last snapshot's rows and every update's
// since, in order; a reset (with the rows known since continuity was lost)
// when the upstream had a reset and no snapshot since, or kept too much to
// replay.
func (up *upstream) joinSnapshotLocked() *Batch {
	kind := KindSnapshot
	if up.replayLost || len(up.replay) > 0 && up.replay[0].Kind == KindReset {
		kind = KindReset
	}
	var body bytes.Buffer
	body.WriteByte('[')
	n := 0
	var rows [][]any
	if !up.replayLost {
		for _, b := range up.replay {
			rows = append(rows, b.Rows...)
			inner := b.JSON[1 : len(b.JSON)-1]
			if len(inner) == 0 {
				continue
			}
			if n > 0 {
				body.WriteByte(',')
			}
			body.Write(inner)
			n++
		}
	}
	body.WriteByte(']')
	return &Batch{Kind: kind, Columns: up.enc.Columns(), Rows: rows, JSON: body.Bytes(), Time: up.hub.cfg.Now()}
}

// fail ends every subscription of the upstream with err (the live source
// ended for good), telling the subscribers whose sink can be told.
func (up *upstream) fail(err error) {
	qe := qconnect.AsError(err)
	if qe.Code == qconnect.CodeInternal || qe.Code == "" {
		qe = &qconnect.Error{Code: qconnect.CodeUnavailable, Cause: err,
			Message: "the live source of " + up.method.FullName() + " ended; subscribe again"}
	}
	h := up.hub
	h.mu.Lock()
	up.mu.Lock()
	subs := append([]*Subscription(nil), up.subs...)
	for len(up.subs) > 0 {
		up.removeLocked(0)
	}
	h.closeLocked(up)
	up.mu.Unlock()
	h.mu.Unlock()
	for _, s := range subs {
		if e, ok := s.sink.(Ender); ok {
			e.End(qe)
		}
	}
}
