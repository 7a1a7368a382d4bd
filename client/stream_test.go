package client

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// streamBody describes a canned streamed response: the handler below is a
// stand-in for the transport only, writing these bytes the way the gateway
// does (rows, then the outcome in the body or the trailer).
type streamBody struct {
	contentType string
	body        string
	trailer     string // Connect-Status trailer; "" = none
	cut         bool   // abort the connection after the body
}

func streamHandler(t *testing.T, sb streamBody) func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
	return func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
		w.Header().Set("Content-Type", sb.contentType)
		if sb.trailer != "" {
			w.Header().Set("Trailer", "Connect-Status")
		}
		w.WriteHeader(200)
		// write in two pieces so the client sees more than one read
		half := len(sb.body) / 2
		io.WriteString(w, sb.body[:half])
		w.(http.Flusher).Flush()
		io.WriteString(w, sb.body[half:])
		if sb.cut {
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		if sb.trailer != "" {
			w.Header().Set("Connect-Status", sb.trailer)
		}
	}
}

const arrowEnd = "\xff\xff\xff\xff\x00\x00\x00\x00"

func TestStreamOutcomes(t *testing.T) {
	const ndRows = `{"x":1,"success":true}` + "\n" + `{"x":2}` + "\n"
	const ndFinalOK = `{"type":"mResp","id":"1","success":true,"meta":{"rowCount":2}}` + "\n"
	const ndFinalErr = `{"type":"mResp","id":"1","success":false,"meta":{},"error":{"code":"timeout","message":"ran past 10s"}}`
	tricky := `{"type":"mResp","id":"1","date":"d","msg":[{"s":"],\"success\":true}"},{"s":"[\\\"msg\":[{"}],`
	cases := []struct {
		name   string
		accept string
		sb     streamBody
		want   qconnect.Code // "" success; "incomplete" ErrIncomplete
	}{
		{"csv ok", FormatCSV, streamBody{"text/csv", "x\r\n1\r\n2\r\n", "ok", false}, ""},
		{"csv error trailer", FormatCSV, streamBody{"text/csv", "x\r\n1\r\n", "error analyticError disk full on backend", false}, qconnect.CodeAnalyticError},
		{"csv without trailer", FormatCSV, streamBody{"text/csv", "x\r\n1\r\n", "", false}, "incomplete"},
		{"csv cut", FormatCSV, streamBody{"text/csv", "x\r\n1\r\n", "ok", true}, "incomplete"},
		{"ndjson ok", FormatNDJSON, streamBody{"application/x-ndjson", ndRows + ndFinalOK, "", false}, ""},
		{"ndjson ok no final newline", FormatNDJSON, streamBody{"application/x-ndjson", ndRows + strings.TrimSpace(ndFinalOK), "", false}, ""},
		{"ndjson error line", FormatNDJSON, streamBody{"application/x-ndjson", ndRows + ndFinalErr + "\n", "", false}, qconnect.CodeTimeout},
		{"ndjson rows only", FormatNDJSON, streamBody{"application/x-ndjson", ndRows, "", false}, "incomplete"},
		{"ndjson cut", FormatNDJSON, streamBody{"application/x-ndjson", ndRows + ndFinalOK, "", true}, "incomplete"},
		{"json ok", FormatJSON, streamBody{"application/json", tricky + `"meta":{"columns":[]},"success":true}`, "", false}, ""},
		{"json error after rows", FormatJSON, streamBody{"application/json", tricky + `"meta":{},"success":false,"error":{"code":"busy","message":"later"}}`, "", false}, qconnect.CodeBusy},
		{"json cut inside msg", FormatJSON, streamBody{"application/json", tricky[:len(tricky)-3], "", false}, "incomplete"},
		{"json without success", FormatJSON, streamBody{"application/json", tricky + `"meta":{}}`, "", false}, "incomplete"},
		{"arrow ok", FormatArrow, streamBody{"application/vnd.apache.arrow.stream", "ARROWSCHEMA....BATCH..." + arrowEnd, "", false}, ""},
		{"arrow cut at continuation", FormatArrow, streamBody{"application/vnd.apache.arrow.stream", "ARROWSCHEMA....BATCH...\xff\xff\xff\xff", "", false}, "incomplete"},
		{"arrow empty", FormatArrow, streamBody{"application/vnd.apache.arrow.stream", "", "", false}, "incomplete"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake, srv := newFake(t, "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo", streamHandler(t, tc.sb))
			s := login(t, srv, "alice")
			st, err := s.Stream(ctxT(t), "g/m", map[string]any{"a": 1}, tc.accept)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			_, copyErr := io.Copy(&out, st)
			closeErr := st.Close()
			if reqs := fake.requests(); reqs[len(reqs)-1].accept != tc.accept {
				t.Errorf("Accept sent = %q", reqs[len(reqs)-1].accept)
			}
			if !tc.sb.cut && out.String() != tc.sb.body {
				t.Errorf("bytes passed through = %q, want %q", out.String(), tc.sb.body)
			}
			if closeErr != copyErr && !(copyErr == nil && closeErr == nil) {
				t.Errorf("Read ended with %v but Close with %v", copyErr, closeErr)
			}
			switch tc.want {
			case "":
				if closeErr != nil {
					t.Errorf("Close = %v, want success", closeErr)
				}
			case "incomplete":
				if !errors.Is(closeErr, ErrIncomplete) {
					t.Errorf("Close = %v, want ErrIncomplete", closeErr)
				}
			default:
				var e *Error
				if !errors.As(closeErr, &e) || e.Code != tc.want || e.Method != "g/m" {
					t.Errorf("Close = %#v, want *Error %s", closeErr, tc.want)
				}
			}
			if again := st.Close(); again != closeErr {
				t.Errorf("second Close = %v, want %v", again, closeErr)
			}
		})
	}
}

func TestStreamErrorBeforeBody(t *testing.T) {
	_, srv := newFake(t, "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo", func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
		reply(w, req, 422, `"msg":[],"success":false,"error":{"code":"invalidParams","message":"bad","details":["start: not a timestamp"]}`)
	})
	s := login(t, srv, "alice")
	st, err := s.Stream(ctxT(t), "g/m", nil, FormatCSV)
	var e *Error
	if st != nil || !errors.As(err, &e) || e.Code != qconnect.CodeInvalidParams || e.Details[0] != "start: not a timestamp" {
		t.Errorf("Stream = %v, %v; want invalidParams", st, err)
	}
	if _, err := s.Stream(ctxT(t), "g/m", nil, "text/html"); err == nil {
		t.Error("Stream accepted an unknown format")
	}
}

func TestStreamCloseEarlyIsIncomplete(t *testing.T) {
	big := "x\r\n" + strings.Repeat("1234567890\r\n", 100000)
	_, srv := newFake(t, "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo", streamHandler(t, streamBody{"text/csv", big, "ok", false}))
	s := login(t, srv, "alice")
	st, err := s.Stream(ctxT(t), "g/m", nil, FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(st, buf); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); !errors.Is(err, ErrIncomplete) {
		t.Errorf("Close after 10 bytes of %d = %v, want ErrIncomplete", len(big), err)
	}
}

// feed passes data to a checker in pieces of n bytes.
func feed(c checker, data string, n int) error {
	for i := 0; i < len(data); i += n {
		c.observe([]byte(data[i:min(i+n, len(data))]))
	}
	return c.outcome()
}

// TestCheckersAcrossChunkBoundaries feeds each body in every piece size up
// to 17 bytes and whole: the outcome must not depend on where reads split.
func TestCheckersAcrossChunkBoundaries(t *testing.T) {
	jsonOK := `{ "type" : "mResp", "msg" : [ {"s":"\\\"]}\u005d"}, {"msg":[1,{"success":true}]} ] , "meta":{"columns":[{"name":"msg","type":"string"}]}, "success" : true }`
	jsonErr := `{"msg":[{"s":"\"success\":true"}],"success":false,"error":{"code":"timeout","message":"m"}}`
	jsonCut := `{"msg":[{"s":"\"success\":true}"}]` // rows contain the text, the envelope has no success
	nd := "{\"a\":1}\n\n{\"type\":\"r\",\"success\":true}\n\n"
	ndBad := "{\"type\":\"r\",\"success\":true}\n{\"a\":1}\n"
	cases := []struct {
		name string
		mk   func() checker
		data string
		want string // "ok", "fail" (wireFailure), "incomplete"
	}{
		{"json ok", func() checker { return &jsonChecker{} }, jsonOK, "ok"},
		{"json error", func() checker { return &jsonChecker{} }, jsonErr, "fail"},
		{"json success only in rows", func() checker { return &jsonChecker{} }, jsonCut + "}", "incomplete"},
		{"ndjson ok with blank lines", func() checker { return &ndjsonChecker{} }, nd, "ok"},
		{"ndjson final line then a row", func() checker { return &ndjsonChecker{} }, ndBad, "incomplete"},
		{"arrow", func() checker { return &arrowChecker{} }, "abc" + arrowEnd, "ok"},
		{"arrow short", func() checker { return &arrowChecker{} }, arrowEnd[1:], "incomplete"},
	}
	for _, tc := range cases {
		for n := 1; n <= len(tc.data); n++ {
			if n > 17 && n != len(tc.data) {
				continue
			}
			err := feed(tc.mk(), tc.data, n)
			var got string
			var wf *wireFailure
			switch {
			case err == nil:
				got = "ok"
			case errors.As(err, &wf):
				got = "fail"
			default:
				got = "incomplete"
			}
			if got != tc.want {
				t.Errorf("%s in pieces of %d: %v (%s), want %s", tc.name, n, err, got, tc.want)
			}
		}
	}
}

func TestNDJSONCheckerBoundsTheFinalLine(t *testing.T) {
	c := &ndjsonChecker{}
	row := `{"s":"` + strings.Repeat("y", maxFinalLine) + `"}` + "\n"
	if err := feed(c, `{"type":"r","success":true}`+"\n"+row, 4096); err == nil {
		t.Error("a huge last row was taken for the final line")
	}
	if cap(c.last) > 2*maxFinalLine || cap(c.cur) > 2*maxFinalLine {
		t.Errorf("checker kept %d/%d bytes", cap(c.last), cap(c.cur))
	}
}

func TestJSONCheckerSkipsRows(t *testing.T) {
	rows := strings.Repeat(`{"s":"[{\"x\"","n":1},`, maxSkeleton/16)
	body := `{"type":"r","msg":[` + rows + `{"n":2}],"meta":{},"success":true}`
	c := &jsonChecker{}
	if err := feed(c, body, 32<<10); err != nil {
		t.Errorf("a %d-byte envelope: %v", len(body), err)
	}
	if len(c.skel) > 200 {
		t.Errorf("the skeleton kept %d bytes of rows: %.80s", len(c.skel), c.skel)
	}
}
