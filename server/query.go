package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"octobase/query"
)

// queryRequest is the body of POST /api/query.
type queryRequest struct {
	// Workspace is the workspace to read; a statement's IN '<workspace>'
	// overrides it.
	Workspace string `json:"workspace"`
	Query     string `json:"query"`
	// Params bind $1, $2, ...: JSON scalars.
	Params []any `json:"params"`
}

func (s *Server) handleQuery(w http.ResponseWriter, req *http.Request) {
	// A valid token first; which workspace it must grant is known after
	// parsing (IN '<workspace>').
	if _, ae := s.authenticate(req); !s.refuse(w, ae) {
		return
	}
	var qr queryRequest
	if !s.decodeJSONBody(w, req, &qr) {
		return
	}
	if qr.Query == "" {
		writeError(w, http.StatusBadRequest, codeBadRequest, "query is required")
		return
	}
	stmt, err := query.Parse(qr.Query)
	if err != nil {
		queryErrorJSON(w, err)
		return
	}
	params := make([]any, len(qr.Params))
	for i, p := range qr.Params {
		v, err := propValue(p)
		if err != nil {
			writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
			return
		}
		params[i] = v
	}
	if n := query.NumParams(stmt); n != len(params) {
		writeError(w, http.StatusBadRequest, codeInvalidQuery, "the statement has "+strconv.Itoa(n)+" parameters, got "+strconv.Itoa(len(params)))
		return
	}
	if stmt, err = query.Bind(stmt, params); err != nil {
		queryErrorJSON(w, err)
		return
	}
	sel, ok := stmt.(*query.Select)
	if !ok {
		writeError(w, http.StatusBadRequest, codeInvalidQuery, "TAIL is served as Server-Sent Events by GET /api/workspaces/{ws}/changes?where=...")
		return
	}
	name := qr.Workspace
	if sel.Workspace != nil {
		if lit, ok := sel.Workspace.(*query.Literal); ok {
			name = lit.Str
		}
	}
	if name == "" {
		writeError(w, http.StatusBadRequest, codeBadRequest, "workspace is required (or IN '<workspace>' in the statement)")
		return
	}
	if !s.authorize(w, req, name, AccessRead) {
		return
	}
	ws, err := s.store.Workspace(req.Context(), name)
	if err != nil {
		s.engineError(w, name, err)
		return
	}
	src, err := query.NewWorkspaceSource(req.Context(), ws)
	if err != nil {
		s.engineError(w, name, err)
		return
	}
	res, err := query.Exec(req.Context(), stmt, src)
	if err != nil {
		var qe *query.Error
		switch {
		case errors.As(err, &qe):
			queryErrorJSON(w, err)
		case errors.Is(err, query.ErrUnsupported):
			writeError(w, http.StatusNotImplemented, codeNotImplemented, err.Error())
		default:
			s.engineError(w, name, err)
		}
		return
	}
	rows := make([][]any, len(res.Rows))
	for i, row := range res.Rows {
		out := make([]any, len(row))
		for j, v := range row {
			out[j] = jsonCell(v)
		}
		rows[i] = out
	}
	writeJSON(w, http.StatusOK, map[string]any{"workspace": name, "columns": res.Columns, "rows": rows})
}

// jsonCell renders a result value for JSON: times as RFC 3339 strings in
// UTC, as cmd/octobase query --json does.
func jsonCell(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format(time.RFC3339Nano)
	}
	return v
}

// queryErrorJSON answers an OQL error: 400 with its position when it is a
// *query.Error.
func queryErrorJSON(w http.ResponseWriter, err error) {
	var qe *query.Error
	if !errors.As(err, &qe) {
		writeError(w, http.StatusBadRequest, codeInvalidQuery, err.Error())
		return
	}
	off := qe.Pos.Offset
	writeJSON(w, http.StatusBadRequest, apiError{
		Error: qe.Error(), Code: codeInvalidQuery,
		Line: qe.Pos.Line, Column: qe.Pos.Column, Offset: &off,
	})
}
