package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestShutdownEndsStreamsInBand: calls still streaming when the drain
// timeout of a SIGTERM passes end in band in every format, with code
// unavailable and "gateway shutting down" (PROTOCOL 4.4 and the appendix),
// and each gets its request-log line (issue 8 item 3).
func TestShutdownEndsStreamsInBand(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t, "--shutdown-timeout", "1s")
	alice := login(t, g, "alice", "alice-password")
	type got struct {
		accept string
		body   []byte
		tr     map[string]string
		err    error
	}
	results := make([]got, len(allAccepts))
	var started, done sync.WaitGroup
	for i, accept := range allAccepts {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			resp := alice.open("/connect/api/test/paced", map[string]any{"rep": 3000}, accept)
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			_, _ = br.Peek(1) // the first bytes of the body: the call streams
			started.Done()
			var tail bytes.Buffer
			buf := make([]byte, 64<<10)
			var err error
			for {
				var n int
				n, err = br.Read(buf)
				tail.Write(buf[:n])
				if tail.Len() > 1<<20 {
					tail.Next(tail.Len() - 1<<19)
				}
				if err != nil {
					break
				}
			}
			if err == io.EOF {
				err = nil
			}
			tr := map[string]string{}
			for k := range resp.Trailer {
				tr[k] = resp.Trailer.Get(k)
			}
			results[i] = got{accept: accept, body: tail.Bytes(), tr: tr, err: err}
		}()
	}
	started.Wait()
	if err := g.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done.Wait()
	if err := g.Wait(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		switch r.accept {
		case acceptJSON, acceptNDJSON:
			body := bytes.TrimRight(r.body, "\n")
			last := body
			if i := bytes.LastIndexByte(body, '\n'); i >= 0 && r.accept == acceptNDJSON {
				last = body[i+1:]
			}
			if r.accept == acceptJSON {
				i := bytes.LastIndex(body, []byte(`,"success":`))
				if i < 0 {
					t.Fatalf("%s: no in-band outcome at the end: %q", r.accept, tailOf(body))
				}
				last = append([]byte("{"), body[i+1:]...)
			}
			var end struct {
				Success *bool    `json:"success"`
				Error   *wireErr `json:"error"`
			}
			if err := json.Unmarshal(last, &end); err != nil || end.Success == nil || *end.Success || end.Error == nil ||
				end.Error.Code != "unavailable" || !strings.Contains(end.Error.Message, "gateway shutting down") {
				t.Errorf("%s: the stream did not end with unavailable in band (read error %v): %q", r.accept, r.err, tailOf(body))
			}
		case acceptArrow:
			// Arrow has no in-band error: the stream is cut (PROTOCOL 4.4).
			if r.err == nil || bytes.HasSuffix(r.body, arrowEndOfStream) {
				t.Errorf("arrow: the stream was not cut (read error %v)", r.err)
			}
		case acceptCSV:
			if s := r.tr["Connect-Status"]; !strings.HasPrefix(s, "error unavailable gateway shutting down") {
				t.Errorf("%s: Connect-Status trailer %q (read error %v), want error unavailable gateway shutting down", r.accept, s, r.err)
			}
			if r.tr["Connect-Meta"] == "" {
				t.Errorf("%s: no Connect-Meta trailer", r.accept)
			}
		}
	}
	logs := g.Stderr()
	if n := strings.Count(logs, "path=/connect/api/test/paced"); n < len(allAccepts) {
		t.Errorf("%d request-log lines for the %d calls ended by the shutdown:\n%s", n, len(allAccepts), logs)
	}
	if n := strings.Count(logs, "code=unavailable"); n < len(allAccepts) {
		t.Errorf("%d log lines with code=unavailable, want %d:\n%s", n, len(allAccepts), logs)
	}
}

func tailOf(b []byte) []byte {
	if len(b) > 300 {
		return b[len(b)-300:]
	}
	return b
}
