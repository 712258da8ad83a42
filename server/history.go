package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"octobase/engine"
	"octobase/oplog"
)

// History page sizes: the default and the largest accepted limit.
const (
	defaultHistoryLimit = 1000
	maxHistoryLimit     = 10_000
)

// historyEntryJSON is one entry of GET .../history.
type historyEntryJSON struct {
	LSN     uint64   `json:"lsn"`
	Time    string   `json:"time"`
	Origin  string   `json:"origin"`
	Op      string   `json:"op"`
	Fields  []string `json:"fields,omitempty"`
	Clients []uint64 `json:"clients"`
}

// handleHistory answers GET /api/workspaces/{ws}/history?block=<id>: the
// block's changes, oldest first, derived from the op-log
// (engine.Workspace.History). Optional: space, from, to, limit.
func (s *Server) handleHistory(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("ws")
	if !s.authorize(w, req, name, AccessRead) {
		return
	}
	q := req.URL.Query()
	id := q.Get("block")
	if id == "" {
		writeError(w, http.StatusBadRequest, codeBadRequest, "block is required")
		return
	}
	opts := engine.HistoryOptions{Space: q.Get("space"), Limit: defaultHistoryLimit}
	for _, p := range []struct {
		key string
		dst *oplog.LSN
	}{{"from", &opts.From}, {"to", &opts.To}} {
		if v := q.Get(p.key); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				writeError(w, http.StatusBadRequest, codeBadRequest, p.key+" must be a log position (an unsigned integer)")
				return
			}
			*p.dst = oplog.LSN(n)
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxHistoryLimit {
			writeError(w, http.StatusBadRequest, codeBadRequest, "limit must be between 1 and "+strconv.Itoa(maxHistoryLimit))
			return
		}
		opts.Limit = n
	}
	ws, err := s.store.Workspace(req.Context(), name)
	if err != nil {
		s.engineError(w, name, err)
		return
	}
	entries, err := ws.History(req.Context(), engine.BlockID(id), opts)
	if err != nil {
		s.engineError(w, name, err)
		return
	}
	out := make([]historyEntryJSON, len(entries))
	for i, e := range entries {
		clients := e.Clients
		if clients == nil {
			clients = []uint64{}
		}
		out[i] = historyEntryJSON{LSN: uint64(e.LSN), Time: e.Time.UTC().Format(time.RFC3339Nano), Origin: e.Origin,
			Op: strings.ToLower(e.Op.String()), Fields: e.Fields, Clients: clients}
	}
	resp := map[string]any{"block": id, "entries": out}
	if len(entries) == opts.Limit { // there may be more: the next page starts here
		resp["next"] = uint64(entries[len(entries)-1].LSN) + 1
	}
	writeJSON(w, http.StatusOK, resp)
}
