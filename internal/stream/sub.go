package stream

import (
	"time"

	"github.com/qconnect/qconnect"
)

// Sink receives the updates of one subscription; it belongs to the
// transport. Update is called with the upstream's lock held, in seq order
// (1, 2, 3, ... without gaps); it must not block and must not call back into
// the hub. It returns false when the consumer cannot take the update (it
// fell behind): the hub then drops the subscription and calls the Sink no
// more.
type Sink interface {
	Update(seq uint64, b *Batch) bool
}

// Subscription is one subscriber's view of an upstream. Its methods are
// safe for concurrent use.
type Subscription struct {
	id   string
	up   *upstream
	sink Sink

	// Guarded by up.mu.
	seq       uint64
	holding   bool
	held      []*Batch
	heldBytes int64
	ended     bool // dropped or closed
}

// ErrSlowConsumer is returned by Release for a subscription dropped while
// held because its updates outgrew Config.MaxHeldBytes.
var ErrSlowConsumer = &qconnect.Error{Code: qconnect.CodeSlowConsumer,
	Message: "the subscription fell behind while its snapshot was prepared and was ended; subscribe again, with narrower filters if this repeats"}

// ID is the subscription's id (16 hex digits, random).
func (s *Subscription) ID() string { return s.id }

// Method is the streaming method subscribed to.
func (s *Subscription) Method() *qconnect.Method { return s.up.method }

// Conflate is the subscription's conflation interval (0: every update).
func (s *Subscription) Conflate() time.Duration { return s.up.conflate }

// Seq is the number of the last update handed to the sink.
func (s *Subscription) Seq() uint64 {
	s.up.mu.Lock()
	defer s.up.mu.Unlock()
	return s.seq
}

// offerLocked hands b to the sink, or holds it. It reports false when the
// subscription must be dropped.
func (s *Subscription) offerLocked(b *Batch) bool {
	if s.holding {
		s.heldBytes += int64(len(b.JSON))
		if s.heldBytes > s.up.hub.cfg.MaxHeldBytes {
			s.held = nil
			return false
		}
		s.held = append(s.held, b)
		return true
	}
	if b.Kind == KindUpdate {
		s.seq++
	}
	return s.sink.Update(s.seq, b)
}

// Ender is implemented by sinks that can tell their subscriber why the hub
// ended a subscription (a live source failed). End is called without the
// hub's locks held, and may call Subscription.Close.
type Ender interface {
	End(err *qconnect.Error)
}

// Release ends the holding of a new subscription: the updates kept since
// Subscribe go to the sink, in order, and later ones as they come. It
// returns ErrSlowConsumer if the subscription was dropped meanwhile (too
// much held, or the sink refused), and nil otherwise; calling it again, or
// after Close, does nothing.
func (s *Subscription) Release() error {
	up := s.up
	up.mu.Lock()
	if !s.holding {
		up.mu.Unlock()
		return nil
	}
	s.holding = false
	held := s.held
	s.held, s.heldBytes = nil, 0
	if s.ended {
		up.mu.Unlock()
		return ErrSlowConsumer
	}
	var err error
	for _, b := range held {
		if b.Kind == KindUpdate {
			s.seq++
		}
		if !s.sink.Update(s.seq, b) {
			for i, x := range up.subs {
				if x == s {
					up.removeLocked(i)
					break
				}
			}
			err = ErrSlowConsumer
			break
		}
	}
	up.mu.Unlock()
	if err != nil {
		up.hub.reap(up)
	}
	return err
}

// Close ends the subscription: when it returns, the sink gets no more
// updates. The upstream closes with its last subscription. Close is
// idempotent.
func (s *Subscription) Close() {
	h, up := s.up.hub, s.up
	h.mu.Lock()
	defer h.mu.Unlock()
	up.mu.Lock()
	defer up.mu.Unlock()
	s.holding, s.held = false, nil
	if !s.ended {
		for i, x := range up.subs {
			if x == s {
				up.removeLocked(i)
				break
			}
		}
		s.ended = true
	}
	if len(up.subs) == 0 {
		h.closeLocked(up)
	}
}

// SnapshotCall returns the backend call that runs the snapshot of a
// streaming method (StreamSpec.Snapshot), and false when it has none. The
// call's Method is synthesized from m: same group, name, parameters and
// columns, with the snapshot as its query, so a backend runs it like any
// method and checks its result against the declared columns. limit is the
// row limit of the call (see qconnect.Call).
func SnapshotCall(m *qconnect.Method, params map[string]any, user string, now time.Time, limit int64) (qconnect.Call, bool) {
	if m == nil || m.Stream == nil || m.Stream.Snapshot == "" {
		return qconnect.Call{}, false
	}
	snap := *m
	snap.Query = m.Stream.Snapshot
	snap.Streaming = false
	snap.Stream = nil
	return qconnect.Call{Method: &snap, Params: params, User: user, Now: now, Limit: limit}, true
}
