// Command bare is the peer of the gateway's WebSocket fan-out in
// bench/fanout.sh: the least a broadcaster on coder/websocket must do, with
// no authentication, no hub, no storage. It answers every frame a
// subscriber sends (AuthReq, SubscribeReq) with {"success":true}, takes
// publishes as POST /publish with the body {"rows": [...]} (decoded as
// JSON, as a gateway must), encodes each publish's UpdateMsg ONCE, and
// queues that one frame to every socket (a bounded queue per socket, one
// writer goroutine each; a socket whose queue is full is closed, as a slow
// consumer). Frames carry seq 1, 2, 3, ... like the gateway's.
//
//	bare -listen 127.0.0.1:19091
//
// It prints "listening on ..." when ready. Loopback only.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// queueFrames bounds each socket's queue.
const queueFrames = 4096

type sock struct {
	c *websocket.Conn
	q chan []byte
}

type hub struct {
	mu    sync.Mutex
	socks map[*sock]struct{}
	seq   uint64
	pubMu sync.Mutex // publishes are encoded and queued one at a time, in order
}

func main() {
	listen := flag.String("listen", "127.0.0.1:19091", "address (loopback)")
	flag.Parse()
	if !strings.HasPrefix(*listen, "127.") {
		fmt.Fprintln(os.Stderr, "bare: loopback addresses only")
		os.Exit(2)
	}
	h := &hub{socks: map[*sock]struct{}{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/connect/ws", h.ws)
	mux.HandleFunc("/publish", h.publish)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening on http://" + ln.Addr().String())
	_ = http.Serve(ln, mux)
}

func (h *hub) ws(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	c.SetReadLimit(1 << 20)
	s := &sock{c: c, q: make(chan []byte, queueFrames)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // writer
		for {
			select {
			case f := <-s.q:
				if err := c.Write(ctx, websocket.MessageText, f); err != nil {
					cancel()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			break
		}
		var req struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		}
		_ = json.Unmarshal(data, &req)
		resp, _ := json.Marshal(map[string]any{"type": strings.TrimSuffix(req.Type, "Req") + "Resp", "id": req.ID, "success": true,
			"msg": []any{map[string]string{"subscriptionId": "bare"}}})
		select {
		case s.q <- resp:
		default:
		}
		if req.Type == "SubscribeReq" {
			h.mu.Lock()
			h.socks[s] = struct{}{}
			h.mu.Unlock()
		}
	}
	h.mu.Lock()
	delete(h.socks, s)
	h.mu.Unlock()
	c.CloseNow()
}

func (h *hub) publish(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	var p struct {
		Rows []map[string]any `json:"rows"`
	}
	if err != nil || json.Unmarshal(body, &p) != nil {
		http.Error(w, "bad rows", http.StatusBadRequest)
		return
	}
	rows, _ := json.Marshal(p.Rows)
	h.pubMu.Lock()
	h.seq++
	frame := make([]byte, 0, len(rows)+128)
	frame = append(frame, `{"type":"UpdateMsg","subscriptionId":"bare","seq":`...)
	frame = strconv.AppendUint(frame, h.seq, 10)
	frame = append(frame, `,"date":"`...)
	frame = append(frame, time.Now().UTC().Format(http.TimeFormat)...)
	frame = append(frame, `","msg":`...)
	frame = append(frame, rows...)
	frame = append(frame, '}')
	h.mu.Lock()
	for s := range h.socks {
		select {
		case s.q <- frame:
		default: // a slow consumer: dropped
			delete(h.socks, s)
			s.c.CloseNow()
		}
	}
	h.mu.Unlock()
	h.pubMu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"success":true,"msg":[{"rows":` + strconv.Itoa(len(p.Rows)) + `}]}`))
}
