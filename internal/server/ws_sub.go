package server

import (
	"context"
	"encoding/json"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/encode"
	"github.com/qconnect/qconnect/internal/stream"
	"github.com/qconnect/qconnect/protocol"
)

// wsSub is a subscription of one socket; it is the stream.Sink that turns
// the hub's updates into UpdateMsg frames on the socket's queue.
type wsSub struct {
	id        string
	conn      *wsConn
	method    *qconnect.Method
	sub       *stream.Subscription
	announced atomic.Bool // SubscribeResp is queued
}

// Update queues UpdateMsg number seq (stream.Sink). The rows' JSON and the
// date are shared with every other subscriber of the upstream; the
// envelope head is composed by the socket's writer, in its own buffer. It
// returns false when the socket is closing or its queue is full (which
// marks it slow).
func (s *wsSub) Update(seq uint64, b *stream.Batch) bool {
	if b.Kind != stream.KindUpdate {
		// A live source's snapshot, or its reset (PROTOCOL appendix 27).
		head := make([]byte, 0, 128)
		head = append(head, `{"type":"SnapshotMsg","subscriptionId":"`...)
		head = append(head, s.id...)
		head = append(head, `","date":"`...)
		head = b.Time.UTC().AppendFormat(head, protocol.DateFormat)
		head = append(head, '"')
		if b.Kind == stream.KindReset {
			head = append(head, `,"reset":true`...)
		}
		head = append(head, `,"msg":`...)
		tail := closeBrace
		if b.Kind == stream.KindSnapshot {
			// As a snapshot query's SnapshotMsg (section 7): meta with
			// the columns and the row count (PROTOCOL appendix 32).
			tail = append(encode.AppendMeta([]byte(`,"meta":`), encode.Meta{Columns: b.Columns, RowCount: int64(len(b.Rows))}), '}')
		}
		return s.conn.enqueue(outFrame{head: head, body: b.JSON, tail: tail})
	}
	date := b.Date
	if date == "" {
		date = b.Time.UTC().Format(protocol.DateFormat)
	}
	// The envelope head is composed by the socket's writer into its own
	// buffer (outFrame.appendUpdateHead): nothing is allocated per socket.
	return s.conn.enqueue(outFrame{sub: s.id, seq: seq, date: date, body: b.JSON, tail: closeBrace})
}

var closeBrace = []byte("}")

// End tells the subscriber that the hub ended the subscription (its live
// source ended): SubscriptionEndMsg (stream.Ender).
func (s *wsSub) End(err *qconnect.Error) { s.conn.endSub(s, err) }

// execute answers ExecuteReq: a method call with the REST result envelope
// (PROTOCOL 4.3), or a publish for a publishing method. A call runs on
// its own goroutine within the gateway's concurrency limits, so the socket
// keeps reading; answers may come out of order (match them by id). A
// publish is accepted before the socket reads on, so a socket's publishes
// are stored and delivered in the order it sent them.
func (c *wsConn) execute(req *protocol.Request, rp reply, rateErr error) {
	group, name, msg, err := methodCall(req)
	o := c.wsRecord("call", "", req.ID, msg)
	if err == nil {
		o.Method = group + "/" + name
		o.Kind = c.s.kindOf(o.Method)
	}
	if err == nil {
		err = rateErr
	}
	if err != nil {
		c.wsAnswer(o, rp, nil, err)
		return
	}
	m, params, err := c.s.prepareCall(c.user, group, name, msg, false)
	if err != nil {
		c.wsAnswer(o, rp, nil, err)
		return
	}
	release, err := c.s.limits.acquire(c.user, c.s.cfg.BusyRetryAfter)
	if err != nil {
		c.wsAnswer(o, rp, nil, err)
		return
	}
	now := c.s.cfg.Now()
	if m.Publish {
		// In the read loop, not a goroutine: a socket's publishes take
		// their places in the table's order in the order they were sent.
		defer release()
		var raw json.RawMessage
		if len(msg) == 1 {
			raw = msg[0]
		}
		n, err := c.s.publishMsg(c.ctx, m, raw)
		if err != nil {
			c.wsAnswer(o, rp, nil, err)
			return
		}
		frame := c.okFrame(rp, []any{map[string]int{"rows": n}})
		c.wsFinish(o, frame, nil, int64(n))
		c.send(frame)
		return
	}
	fail := func(err error) { // answered, unless the socket is gone
		if c.ctx.Err() == nil {
			c.wsAnswer(o, rp, nil, err)
		} else {
			c.wsFinish(o, nil, err, 0)
		}
	}
	go func() {
		defer release()
		admitted, err := c.s.admit.acquire(c.ctx)
		if err != nil {
			fail(err)
			return
		}
		defer admitted()
		start := time.Now()
		timeout, rowCap := c.s.Limits(m)
		ctx, cancel := context.WithTimeout(c.ctx, timeout)
		defer cancel()
		head := c.envelopeHead(rp, now)
		call := qconnect.Call{Method: m, Params: params, User: c.user, Now: now, Limit: rowCap + 1}
		frame, rows, err := c.s.resultFrame(ctx, m, call, head, rowCap, c.s.cfg.WSMaxFrameBytes, start, timeout, true)
		if err != nil {
			fail(err)
			return
		}
		c.wsFinish(o, frame, nil, rows)
		c.send(frame)
	}()
}

// envelopeHead is the start of a result envelope, up to and including the
// "msg" key.
func (c *wsConn) envelopeHead(rp reply, now time.Time) []byte {
	h := c.s.header(rp)
	h.Date = protocol.FormatDate(now)
	return encode.AppendMsgKey(nil, h)
}

// resultFrame runs call and returns one frame and the number of rows in
// it: head, the rows, then meta,
// "success":true when withSuccess (ExecuteResp; not for SnapshotMsg), and
// the closing brace. The result is cut, with meta.truncated = true, at the row
// cap (as over REST) and at the last whole row that keeps the frame within
// maxFrame bytes — so a client always gets a frame it can read, and never a
// cut it cannot see. A failure at any point is returned as an error (the
// frame is only sent whole, so an error envelope replaces it).
func (s *Server) resultFrame(ctx context.Context, m *qconnect.Method, call qconnect.Call, head []byte, rowCap, maxFrame int64, start time.Time, timeout time.Duration, withSuccess bool) ([]byte, int64, error) {
	backend, err := s.backendFor(m)
	if err != nil {
		return nil, 0, err
	}
	if err := s.settled(ctx, backend); err != nil { // read-your-writes (pipe.go)
		return nil, 0, s.callError(ctx, m, timeout, err)
	}
	rows, err := backend.Query(ctx, call)
	if err != nil {
		return nil, 0, s.callError(ctx, m, timeout, err)
	}
	defer rows.Close()
	cols := rows.Columns()
	enc := stream.NewRowEncoder(cols)

	metaMax, _ := json.Marshal(encode.Meta{Columns: cols, RowCount: rowCap, Truncated: true, ElapsedMs: 1e9})
	budget := maxFrame - int64(len(head)) - int64(len(metaMax)) - 64 // the closing keys
	frame := append(head, '[')
	var count int64
	truncated := false
	var row []byte
	for !truncated {
		batch, err := rows.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, s.callError(ctx, m, timeout, err)
		}
		for r := 0; r < batch.Len; r++ {
			if count >= rowCap {
				truncated = true
				break
			}
			row = enc.AppendBatchRow(row[:0], batch, r)
			if int64(len(frame)-len(head)+len(row)+1) > budget {
				truncated = true
				break
			}
			if count > 0 {
				frame = append(frame, ',')
			}
			frame = append(frame, row...)
			count++
		}
	}
	frame = append(frame, `],"meta":`...)
	frame = encode.AppendMeta(frame, encode.Meta{Columns: cols, RowCount: count, Truncated: truncated,
		ElapsedMs: float64(time.Since(start).Microseconds()) / 1000})
	if withSuccess {
		return encode.AppendEnd(frame, nil), count, nil
	}
	return append(frame, '}'), count, nil // a SnapshotMsg has no success key
}

// subscribe answers SubscribeReq: checks as REST (method, entitlement,
// parameters), the per-socket limit, then a held hub subscription, the
// snapshot query if the method has one, SubscribeResp, SnapshotMsg, and the
// updates from then on. Setting up runs on its own goroutine when there is
// a snapshot to query.
func (c *wsConn) subscribe(req *protocol.Request, rp reply, rateErr error) {
	o := c.wsRecord("subscribe", "", req.ID, nil) // observers: appendix 36
	group, name, msg, err := methodCall(req)
	if err == nil {
		o.Method, o.Msg = group+"/"+name, msg
	}
	if rateErr != nil { // recorded with its method when it names one
		err = rateErr
	}
	if err != nil {
		c.wsAnswer(o, rp, nil, err)
		return
	}
	m, params, err := c.s.prepareCall(c.user, group, name, msg, true)
	if err != nil {
		c.wsAnswer(o, rp, nil, err)
		return
	}
	c.mu.Lock()
	if len(c.subs)+c.setups >= c.s.cfg.WSMaxSubscriptions {
		c.mu.Unlock()
		c.wsAnswer(o, rp, nil, qconnect.Errorf(qconnect.CodeBusy,
			"this socket holds %d subscriptions, the most a socket may; unsubscribe from one or open another socket", c.s.cfg.WSMaxSubscriptions))
		return
	}
	c.setups++
	c.mu.Unlock()
	done := func() {
		c.mu.Lock()
		c.setups--
		c.mu.Unlock()
	}
	now := c.s.cfg.Now()
	timeout, rowCap := c.s.Limits(m)
	call, hasSnapshot := stream.SnapshotCall(m, params, c.user, now, rowCap+1)
	// A backend that is a live source for the method supplies its
	// snapshot and updates itself (qconnect.LiveSource).
	var live qconnect.LiveSource
	if b, err := c.s.backendFor(m); err == nil {
		if src, ok := b.(qconnect.LiveSource); ok {
			live, hasSnapshot = src, false
		}
	}
	var release func()
	if hasSnapshot {
		if release, err = c.s.limits.acquire(c.user, c.s.cfg.BusyRetryAfter); err != nil {
			done()
			c.wsAnswer(o, rp, nil, err)
			return
		}
	}
	ws := &wsSub{conn: c, method: m}
	sub, shared, err := c.s.ws.hub.Subscribe(stream.Request{Method: m, Params: params, User: c.user, Live: live, Now: now}, ws)
	if err != nil {
		done()
		if release != nil {
			release()
		}
		c.wsAnswer(o, rp, nil, err)
		return
	}
	ws.id, ws.sub = sub.ID(), sub
	st := c.s.ws.hub.Stats()
	if shared {
		c.s.log.Info("stream subscription joined upstream", "method", m.FullName(), "user", c.user, "upstreams", st.Upstreams, "subscriptions", st.Subscriptions)
	} else {
		c.s.log.Info("stream upstream opened", "method", m.FullName(), "user", c.user, "upstreams", st.Upstreams, "opened", st.Opened)
	}
	c.mu.Lock()
	c.subs[ws.id] = ws
	c.mu.Unlock()

	finish := func(snapshot []byte, rows int64, err error) {
		defer done()
		if err != nil {
			c.dropSub(ws)
			c.wsAnswer(o, rp, nil, err)
			return
		}
		c.mu.Lock()
		if _, ok := c.subs[ws.id]; !ok || c.closing {
			c.mu.Unlock()
			sub.Close()
			c.wsFinish(o, nil, context.Canceled, 0) // clientGone
			return
		}
		// SubscribeResp and SnapshotMsg go in together, before any update:
		// the subscription is held until Release.
		resp := c.okFrame(rp, []any{map[string]string{"subscriptionId": ws.id}})
		ok := c.queued+int64(len(resp)+len(snapshot)) <= c.s.cfg.WSQueueBytes
		if ok {
			c.pushLocked(outFrame{head: resp})
			if snapshot != nil {
				c.pushLocked(outFrame{head: snapshot})
			}
			ws.announced.Store(true)
		} else {
			c.markSlowLocked()
		}
		c.mu.Unlock()
		if !ok {
			c.wsFinishBytes(o, 0, false, &qconnect.Error{Code: qconnect.CodeSlowConsumer}, 0)
			return
		}
		c.wsFinishBytes(o, int64(len(resp)+len(snapshot)), true, nil, rows)
		if err := sub.Release(); err != nil {
			c.endSub(ws, qconnect.AsError(err))
		}
	}
	if !hasSnapshot {
		finish(nil, 0, nil)
		return
	}
	go func() {
		defer release()
		start := time.Now()
		ctx, cancel := context.WithTimeout(c.ctx, timeout)
		defer cancel()
		head := []byte(`{"type":"SnapshotMsg","subscriptionId":"` + ws.id + `","date":"` + protocol.FormatDate(now) + `","msg":`)
		frame, rows, err := c.s.resultFrame(ctx, call.Method, call, head, rowCap, c.s.cfg.WSMaxFrameBytes, start, timeout, false)
		finish(frame, rows, err)
	}()
}

// dropSub forgets a subscription that was never announced.
func (c *wsConn) dropSub(s *wsSub) {
	c.mu.Lock()
	delete(c.subs, s.id)
	c.mu.Unlock()
	s.sub.Close()
}

// unsubscribe answers UnsubscribeReq. When UnsubscribeResp is queued no
// UpdateMsg of the subscription follows it.
func (c *wsConn) unsubscribe(req *protocol.Request, rp reply, rateErr error) {
	var m struct {
		SubscriptionID string `json:"subscriptionId"`
	}
	o := c.wsRecord("unsubscribe", "", req.ID, nil) // observers: appendix 36
	if rateErr != nil {
		c.wsAnswer(o, rp, nil, rateErr)
		return
	}
	if len(req.Msg) != 1 || json.Unmarshal(req.Msg[0], &m) != nil || m.SubscriptionID == "" {
		c.wsAnswer(o, rp, nil, qconnect.Errorf(qconnect.CodeBadRequest,
			`an UnsubscribeReq's msg is [{"subscriptionId": "<id from SubscribeResp>"}] (PROTOCOL 7)`))
		return
	}
	c.mu.Lock()
	s, ok := c.subs[m.SubscriptionID]
	if ok && s.announced.Load() {
		delete(c.subs, m.SubscriptionID)
	} else {
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		msg := "subscriptionId: no subscription " + strconv.Quote(shorten(m.SubscriptionID, 40)) + " on this socket (already ended, or from another socket)"
		c.wsAnswer(o, rp, nil, &qconnect.Error{Code: qconnect.CodeInvalidParams, Message: msg, Details: []string{msg}})
		return
	}
	s.sub.Close()
	o.Method = s.method.FullName()
	c.wsAnswer(o, rp, []any{map[string]string{"subscriptionId": s.id}}, nil)
}
