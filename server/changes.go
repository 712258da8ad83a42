package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"octobase/engine"
	"octobase/oplog"
	"octobase/query"
)

// changeEventJSON is the data of one SSE change event.
type changeEventJSON struct {
	LSN    uint64            `json:"lsn"`
	Time   string            `json:"time"`
	Origin string            `json:"origin"`
	Blocks []blockChangeJSON `json:"blocks"`
}

type blockChangeJSON struct {
	Space  string   `json:"space"`
	ID     string   `json:"id"`
	Op     string   `json:"op"`
	Fields []string `json:"fields,omitempty"`
}

// handleChanges streams a workspace's changes as Server-Sent Events (see
// docs/http-api.md): one event per op-log record (per matching record with
// where=), with the LSN as the event id, resumable with Last-Event-ID.
// closedChan is a closed channel.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (s *Server) handleChanges(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("ws")
	claims, ae := s.check(req, name, AccessRead)
	if !s.refuse(w, ae) {
		return
	}
	q := req.URL.Query()
	var from oplog.LSN
	if v := q.Get("from"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, codeBadRequest, "from must be a log position (an unsigned integer)")
			return
		}
		from = oplog.LSN(n)
	}
	// A reconnecting EventSource sends the id of the last event it got:
	// resume right after it, whatever from says.
	if v := req.Header.Get("Last-Event-ID"); v != "" {
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, codeBadRequest, "Last-Event-ID must be a log position")
			return
		}
		from = oplog.LSN(n + 1)
	}
	where := q.Get("where")
	var params []any
	for _, p := range q["param"] {
		params = append(params, query.ParamValue(p))
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, codeInternal, "streaming is not supported by this connection")
		return
	}
	if err := s.addConn(name); err != nil {
		s.connLimitError(w, err)
		return
	}
	defer s.removeConn(name)

	ws, err := s.store.Workspace(req.Context(), name)
	if err != nil {
		s.engineError(w, name, err)
		return
	}
	ctx := req.Context()
	stream, err := query.OpenTail(ctx, ws, where, params, from)
	if err != nil {
		var qe *query.Error
		if errors.As(err, &qe) {
			queryErrorJSON(w, err)
		} else {
			s.engineError(w, name, err)
		}
		return
	}
	defer stream.Close()
	s.metrics.sseStreams.Add(1)
	defer s.metrics.sseStreams.Add(-1)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The stream is open: later changes will be delivered.
	if _, err := fmt.Fprint(w, ": ok\n\n"); err != nil {
		return
	}
	flusher.Flush()

	hb := time.NewTicker(s.opts.HeartbeatInterval)
	defer hb.Stop()
	// The token's expiry ends the stream with an error event.
	var expired <-chan time.Time
	if !claims.Expires.IsZero() {
		t := time.NewTimer(s.untilExpiry(claims))
		defer t.Stop()
		expired = t.C
	}
	revoked := s.revocations()
	if s.opts.Auth != nil && s.opts.Auth.IsRevoked(claims.ID) {
		revoked = closedChan // revoked since the request's check: end at once
	}
	var buf []byte
	for {
		select {
		case <-revoked:
			if s.opts.Auth != nil && s.opts.Auth.IsRevoked(claims.ID) {
				fmt.Fprint(w, "event: error\ndata: {\"error\":\"unauthorized\",\"message\":\"token revoked\"}\n\n")
				flusher.Flush()
				return
			}
			revoked = s.revocations()
		case <-expired:
			fmt.Fprint(w, "event: error\ndata: {\"error\":\"unauthorized\",\"message\":\"token expired\"}\n\n")
			flusher.Flush()
			return
		case <-ctx.Done():
			return
		case <-s.streams.Done():
			return
		case <-hb.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case ev, ok := <-stream.C:
			if !ok {
				if err := stream.Err(); err != nil && ctx.Err() == nil && !errors.Is(err, engine.ErrClosed) {
					s.log.Warn("change stream ended", "workspace", name, "err", err)
				}
				return
			}
			buf = appendChangeEvent(buf[:0], ev)
			if _, err := w.Write(buf); err != nil {
				return
			}
			flusher.Flush()
			s.metrics.sseEvents.Add(1)
			hb.Reset(s.opts.HeartbeatInterval)
		}
	}
}

// appendChangeEvent appends ev as one SSE event: "id: <lsn>", "event:
// change" and one data line of JSON (JSON without raw newlines).
func appendChangeEvent(dst []byte, ev query.TailEvent) []byte {
	data := changeEventJSON{
		LSN:    uint64(ev.LSN),
		Time:   ev.Time.UTC().Format(time.RFC3339Nano),
		Origin: ev.Origin,
		Blocks: make([]blockChangeJSON, len(ev.Blocks)),
	}
	for i, b := range ev.Blocks {
		data.Blocks[i] = blockChangeJSON{Space: b.Space, ID: string(b.ID), Op: strings.ToLower(b.Op.String()), Fields: b.Fields}
	}
	js, _ := json.Marshal(data)
	dst = append(dst, "id: "...)
	dst = strconv.AppendUint(dst, uint64(ev.LSN), 10)
	dst = append(dst, "\nevent: change\ndata: "...)
	dst = append(dst, js...)
	return append(dst, "\n\n"...)
}

// connLimitError answers a refused connection count: 429 for the
// per-workspace limit, 503 for the node's or while shutting down.
func (s *Server) connLimitError(w http.ResponseWriter, err error) {
	var tm *errTooManyConns
	switch {
	case errors.As(err, &tm) && tm.perWorkspace:
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusTooManyRequests, codeTooManyConns, err.Error())
	case errors.As(err, &tm):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, codeTooManyConns, err.Error())
	default:
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "server is shutting down")
	}
}
