package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// requestInfo collects what the request log line says. Handlers fill it in
// through setRequestInfo; it never holds a session id, a signature or a
// password.
type requestInfo struct {
	user   string
	method string // group/method, or the route for auth and meta
	id     string // the envelope id
	code   string // the wire error code, "" on success
	rows   int64
	msg    []json.RawMessage // a signed request's msg, for observers (never a LoginReq's)
}

type infoKey struct{}

func setRequestInfo(r *http.Request, f func(*requestInfo)) {
	if i, ok := r.Context().Value(infoKey{}).(*requestInfo); ok {
		f(i)
	}
}

// statusRecorder remembers the status and size written. It forwards Flush
// and exposes the wrapped writer to http.ResponseController.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests logs one line per request: verb, path, method, user, status,
// error code, rows, bytes, duration and the envelope id. The Authorization
// header and bodies are never logged.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{}
		rec := &statusRecorder{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		logLine := func() {
			if rec.status == http.StatusSwitchingProtocols || rec.status == 0 && r.Header.Get("Upgrade") != "" {
				// WebSocket connections log their own lifecycle.
				return
			}
			s.observe(r, info, rec, start)
			level := slog.LevelInfo
			if rec.status >= 500 {
				level = slog.LevelWarn
			}
			ctx := r.Context()
			if !s.log.Enabled(ctx, level) {
				return
			}
			// A record built here rather than by Logger.LogAttrs, which
			// captures the caller's PC (a stack walk per request) for a
			// source location the gateway's handlers do not print.
			line := slog.NewRecord(time.Now(), level, "request", 0)
			line.AddAttrs(
				slog.String("verb", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("method", info.method),
				slog.String("user", info.user),
				slog.Int("status", rec.status),
				slog.String("code", info.code),
				slog.Int64("rows", info.rows),
				slog.Int64("bytes", rec.bytes),
				slog.Float64("ms", float64(time.Since(start).Microseconds())/1000),
				slog.String("id", info.id),
				slog.String("remote", clientAddr(r)),
			)
			_ = s.log.Handler().Handle(ctx, line)
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					logLine() // a stream cut on purpose (Arrow) gets its line too
					panic(v)
				}
				err := fmt.Errorf("panic: %v\n%s", v, debug.Stack())
				if rec.status == 0 {
					s.writeError(rec, r, reply{id: idPtr(info.id)}, err)
				} else {
					s.log.Error("panic after the response started", slog.Any("error", err))
				}
			}
		}()
		next.ServeHTTP(rec, r)
		logLine()
	})
}
