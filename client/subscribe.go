package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// Bounds of a subscription's socket.
const (
	// maxFrameBytes bounds one frame read from the gateway (the gateway cuts
	// its frames at 1 MiB by default; a single row may exceed that).
	maxFrameBytes = 16 << 20
	// messageBuffer is the number of messages read ahead of Next. When it is
	// full the SDK stops reading the socket: the gateway's queue then fills
	// and, past its limit, it ends the subscription with slowConsumer.
	messageBuffer = 256
)

// MessageKind tells a snapshot from an update.
type MessageKind int

// The kinds of Message.
const (
	Snapshot MessageKind = iota + 1 // the subscription's snapshot: first, and again from a live source (see Message.Reset)
	Update                          // an update, numbered by Seq
)

func (k MessageKind) String() string {
	switch k {
	case Snapshot:
		return "snapshot"
	case Update:
		return "update"
	}
	return fmt.Sprintf("MessageKind(%d)", int(k))
}

// Message is one SnapshotMsg or UpdateMsg of a subscription (PROTOCOL 7).
// Rows hold one value per column in column order, typed per the qconnect
// package doc, like Result.Rows.
type Message struct {
	Kind MessageKind
	// Seq numbers updates 1, 2, 3, ... (0 for the snapshot); Next checks
	// that none is missing.
	Seq  uint64
	Date time.Time
	// Columns are the method's columns (meta.columns of the snapshot; for
	// updates those listed by meta/methods).
	Columns []qconnect.Column
	Rows    [][]any
	// Truncated is true for a snapshot cut at the row cap or the frame
	// size (meta.truncated).
	Truncated bool
	// Reset is true for a snapshot that says the live source lost
	// continuity (PROTOCOL appendix 27): discard what you hold for the
	// subscription; Rows are the rows known since, and a snapshot without
	// Reset usually follows. A later snapshot without Reset replaces the
	// state.
	Reset bool
}

// ErrSeqGap is returned by Next when an update's seq is not the previous
// one plus one: updates were lost, and the subscription is ended.
var ErrSeqGap = errors.New("an update is missing (seq gap); subscribe again to resynchronise")

// Subscription is a live subscription to a streaming method over its own
// WebSocket, authenticated with a signed AuthReq (the session id is never
// sent). Read it with Next; end it with Unsubscribe. Next is for one
// goroutine at a time; Unsubscribe may be called from any.
type Subscription struct {
	// ID is the gateway's subscriptionId.
	ID string
	// Method is the "group/name" subscribed to.
	Method string

	s       *Session
	conn    *websocket.Conn
	cols    []qconnect.Column
	msgs    chan *Message
	unsubOK chan *wsFrame // UnsubscribeResp frames
	stop    chan struct{} // closed by Unsubscribe
	ended   chan struct{} // closed when readLoop returns
	once    sync.Once
	lastSeq uint64

	mu  sync.Mutex
	err error // why the stream ended
}

// wsFrame is any frame the gateway sends (PROTOCOL 7).
type wsFrame struct {
	Type           string              `json:"type"`
	ID             *string             `json:"id"`
	SubscriptionID string              `json:"subscriptionId"`
	Seq            uint64              `json:"seq"`
	Reset          bool                `json:"reset"`
	Date           string              `json:"date"`
	Msg            []json.RawMessage   `json:"msg"`
	Meta           *resultMeta         `json:"meta"`
	Success        *bool               `json:"success"`
	Error          *protocol.WireError `json:"error"`
}

// Subscribe subscribes to a streaming method ("group/name") with params
// (nil: none) over a new WebSocket to /connect/ws (PROTOCOL 7). It returns
// once the gateway has acknowledged the subscription; entitlement, unknown
// methods and bad parameters are *Error values with the REST codes. The
// column types are read from meta/methods first, so that update rows decode
// to typed values. ctx bounds the setup only; the subscription lives until
// Unsubscribe, the session's end or the gateway ending it.
func (s *Session) Subscribe(ctx context.Context, method string, params map[string]any) (*Subscription, error) {
	if _, _, err := splitMethod(method); err != nil {
		return nil, err
	}
	var cols []qconnect.Column
	if list, err := s.Methods(ctx); err == nil {
		for _, m := range list {
			if m.FullName() == method {
				cols = m.Columns
			}
		}
	} else {
		return nil, err
	}
	conn, err := s.dialWS(ctx)
	if err != nil {
		return nil, err
	}
	sub := &Subscription{Method: method, s: s, conn: conn, cols: cols,
		msgs: make(chan *Message, messageBuffer), unsubOK: make(chan *wsFrame, 1), stop: make(chan struct{}), ended: make(chan struct{})}
	p := map[string]any{}
	for k, v := range params {
		p[k] = wireParam(v)
	}
	id, err := s.sendFrame(ctx, conn, "SubscribeReq", []any{map[string]any{"method": method, "params": p}})
	if err != nil {
		conn.CloseNow()
		return nil, err
	}
	f, err := readFrame(ctx, conn)
	if err == nil {
		err = frameError(f, "SubscribeResp", id, method)
	}
	if err != nil {
		conn.CloseNow()
		return nil, err
	}
	var m struct {
		SubscriptionID string `json:"subscriptionId"`
	}
	if len(f.Msg) != 1 || json.Unmarshal(f.Msg[0], &m) != nil || m.SubscriptionID == "" {
		conn.CloseNow()
		return nil, fmt.Errorf("%w: the SubscribeResp has no subscriptionId (PROTOCOL 7)", ErrNotGateway)
	}
	sub.ID = m.SubscriptionID
	go sub.readLoop()
	return sub, nil
}

// dialWS opens /connect/ws and authenticates it with a signed AuthReq.
func (s *Session) dialWS(ctx context.Context) (*websocket.Conn, error) {
	u := "ws" + strings.TrimPrefix(s.c.addr, "http") + "/connect/ws"
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: s.c.httpClient(nil)})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connecting to %s stopped: %w", u, context.Cause(ctx))
		}
		if resp != nil {
			return nil, notGateway(s.c.addr, resp.StatusCode, resp.Header.Get("Content-Type"), "the WebSocket upgrade at /connect/ws was refused")
		}
		return nil, fmt.Errorf("%w at %s: %w", ErrUnreachable, s.c.addr, err)
	}
	conn.SetReadLimit(maxFrameBytes)
	date := protocol.FormatDate(s.c.now())
	id, err := s.sendFrameDated(ctx, conn, "AuthReq", date, []any{map[string]string{"authorization": s.WebSocketAuthorization(date)}})
	if err == nil {
		var f *wsFrame
		if f, err = readFrame(ctx, conn); err == nil {
			err = frameError(f, "AuthResp", id, "")
		}
	}
	if err != nil {
		conn.CloseNow()
		return nil, err
	}
	return conn, nil
}

func (s *Session) sendFrame(ctx context.Context, conn *websocket.Conn, typ string, msg []any) (string, error) {
	return s.sendFrameDated(ctx, conn, typ, protocol.FormatDate(s.c.now()), msg)
}

func (s *Session) sendFrameDated(ctx context.Context, conn *websocket.Conn, typ, date string, msg []any) (string, error) {
	id := s.c.newID()
	b, err := json.Marshal(requestEnvelope{Type: typ, ID: id, Date: date, Msg: msg})
	if err != nil {
		return "", fmt.Errorf("encode the %s: %w (parameters must be JSON values)", typ, err)
	}
	if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
		return "", wsError(err)
	}
	return id, nil
}

// readFrame reads and parses one frame.
func readFrame(ctx context.Context, conn *websocket.Conn) (*wsFrame, error) {
	_, data, err := conn.Read(ctx)
	if err != nil {
		return nil, wsError(err)
	}
	var f wsFrame
	if err := json.Unmarshal(data, &f); err != nil || f.Type == "" {
		return nil, fmt.Errorf("%w: a WebSocket frame is not a Connect envelope", ErrNotGateway)
	}
	return &f, nil
}

// frameError checks a response frame: its type and id, and its outcome.
func frameError(f *wsFrame, want, id, method string) error {
	if f.Error != nil || f.Success != nil && !*f.Success {
		return wireFrameError(f.Error, method)
	}
	if f.Type != want || f.ID == nil || *f.ID != id {
		return fmt.Errorf("%w: expected a %s for request %s, got a %s", ErrNotGateway, want, id, f.Type)
	}
	return nil
}

func wireFrameError(w *protocol.WireError, method string) *Error {
	if w == nil {
		return &Error{Status: http.StatusInternalServerError, Code: qconnect.CodeInternal, Method: method,
			Message: "the gateway reported a failure without an error object"}
	}
	return &Error{Status: protocol.Status(w.Code), Code: w.Code, Message: w.Message, Details: w.Details, Method: method}
}

// wsError describes a socket failure; a close by the gateway keeps its code
// and reason (4401: the session ended or authentication failed; 4008: slow
// consumer).
func wsError(err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return &CloseError{Code: int(ce.Code), Reason: ce.Reason}
	}
	return fmt.Errorf("%w: the WebSocket failed: %v", ErrIncomplete, err)
}

// CloseError is returned when the gateway closed the subscription's
// WebSocket: Code 4401 (the session ended, or authentication failed), 4008
// (slow consumer), 1000 (normal), 1001 (the gateway is shutting down).
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("the gateway closed the WebSocket with code %d: %s", e.Code, e.Reason)
}

// readLoop reads frames into msgs until the socket ends.
func (sub *Subscription) readLoop() {
	defer close(sub.ended)
	defer close(sub.msgs)
	for {
		f, err := readFrame(context.Background(), sub.conn)
		if err != nil {
			sub.fail(err)
			return
		}
		switch f.Type {
		case "SnapshotMsg", "UpdateMsg":
			if f.SubscriptionID != sub.ID {
				continue
			}
			m, err := sub.message(f)
			if err != nil {
				sub.fail(err)
				sub.conn.CloseNow()
				return
			}
			select {
			case <-sub.stop: // unsubscribing: nobody reads any more
				continue
			default:
			}
			select {
			case <-sub.stop:
			case sub.msgs <- m:
			}
		case "SubscriptionEndMsg":
			if f.SubscriptionID == sub.ID {
				sub.fail(wireFrameError(f.Error, sub.Method))
			}
		case "UnsubscribeResp":
			select {
			case sub.unsubOK <- f:
			default:
			}
		}
	}
}

// message converts a SnapshotMsg or UpdateMsg.
func (sub *Subscription) message(f *wsFrame) (*Message, error) {
	m := &Message{Kind: Update, Seq: f.Seq, Columns: sub.cols}
	if f.Type == "SnapshotMsg" {
		m.Kind, m.Seq, m.Reset = Snapshot, 0, f.Reset
		if f.Meta != nil {
			m.Columns, m.Truncated = f.Meta.Columns, f.Meta.Truncated
		}
	}
	if t, err := protocol.ParseDate(f.Date); err == nil {
		m.Date = t
	}
	if m.Columns == nil {
		return nil, fmt.Errorf("the columns of %s are unknown (not in meta/methods); cannot decode its rows", sub.Method)
	}
	rows, err := convertRows(f.Msg, m.Columns)
	if err != nil {
		return nil, fmt.Errorf("%w: %s of %s: %v", ErrNotGateway, f.Type, sub.Method, err)
	}
	m.Rows = rows
	return m, nil
}

// fail records the first reason the stream ended.
func (sub *Subscription) fail(err error) {
	sub.mu.Lock()
	if sub.err == nil {
		sub.err = err
	}
	sub.mu.Unlock()
}

// Next returns the next message: the snapshot first (if the method has
// one), then updates in seq order. It returns the reason when the
// subscription has ended: an *Error (SubscriptionEndMsg: slowConsumer,
// forbidden, ...), a *CloseError (the socket was closed, 4401 when the
// session ended), ErrSeqGap, or ErrUnsubscribed after Unsubscribe.
func (sub *Subscription) Next(ctx context.Context) (*Message, error) {
	select {
	case <-sub.stop:
		return nil, sub.endErr()
	default:
	}
	select {
	case m, ok := <-sub.msgs:
		if !ok {
			return nil, sub.endErr()
		}
		select {
		case <-sub.stop:
			// Unsubscribe ran while this message was in flight; the read
			// loop drops messages from then on, so what follows may have
			// gaps that mean nothing.
			return nil, sub.endErr()
		default:
		}
		if m.Kind == Update {
			if m.Seq != sub.lastSeq+1 {
				sub.fail(ErrSeqGap)
				sub.conn.CloseNow()
				return nil, fmt.Errorf("%w: got seq %d after %d", ErrSeqGap, m.Seq, sub.lastSeq)
			}
			sub.lastSeq = m.Seq
		}
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// endErr is why the subscription ended.
func (sub *Subscription) endErr() error {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.err == nil {
		sub.err = ErrUnsubscribed
	}
	return sub.err
}

// ErrUnsubscribed is returned by Next after Unsubscribe.
var ErrUnsubscribed = errors.New("the subscription was ended with Unsubscribe")

// Unsubscribe ends the subscription: it sends UnsubscribeReq, waits (within
// ctx) for UnsubscribeResp — after which the gateway sends no more updates
// — and closes the socket normally. Messages not yet read are dropped. It
// is safe to call more than once, and after the gateway ended the
// subscription (it then only closes the socket).
func (sub *Subscription) Unsubscribe(ctx context.Context) error {
	var err error
	sub.once.Do(func() {
		sub.mu.Lock()
		ended := sub.err != nil
		if !ended {
			sub.err = ErrUnsubscribed
		}
		sub.mu.Unlock()
		close(sub.stop)
		if ended { // the gateway ended it already
			_ = sub.conn.Close(websocket.StatusNormalClosure, "unsubscribed")
			return
		}
		var id string
		id, err = sub.s.sendFrame(ctx, sub.conn, "UnsubscribeReq", []any{map[string]string{"subscriptionId": sub.ID}})
		if err == nil {
			select {
			case f := <-sub.unsubOK:
				err = frameError(f, "UnsubscribeResp", id, sub.Method)
			case <-sub.ended:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		var ce *CloseError
		if errors.As(err, &ce) || errors.Is(err, ErrIncomplete) {
			err = nil // the socket had already ended: nothing left to unsubscribe
		}
		_ = sub.conn.Close(websocket.StatusNormalClosure, "unsubscribed")
	})
	return err
}
