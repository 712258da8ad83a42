package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/oplog"
)

// blockJSON is a block as the block API returns it.
type blockJSON struct {
	ID       engine.BlockID   `json:"id"`
	Flavour  string           `json:"flavour"`
	Parent   engine.BlockID   `json:"parent"`
	Children []engine.BlockID `json:"children"`
	Created  int64            `json:"created"`
	Updated  int64            `json:"updated"`
	Creator  string           `json:"creator"`
	Props    map[string]any   `json:"props"`
}

// richTextJSON is a rich-text property on the wire: {"$text": "...",
// "$delta": [...]}. On input "$delta" is optional.
type richTextJSON struct {
	Text  string       `json:"$text"`
	Delta []crdt.Delta `json:"$delta,omitempty"`
}

func toBlockJSON(b engine.BlockView) blockJSON {
	props := make(map[string]any, len(b.Props))
	for k, v := range b.Props {
		if rt, ok := v.(engine.RichText); ok {
			v = richTextJSON{Text: rt.Text, Delta: rt.Delta}
		}
		props[k] = v
	}
	children := b.Children
	if children == nil {
		children = []engine.BlockID{}
	}
	return blockJSON{ID: b.ID, Flavour: b.Flavour, Parent: b.Parent, Children: children,
		Created: b.Created, Updated: b.Updated, Creator: b.Creator, Props: props}
}

// propValue converts a decoded JSON prop value: an object with a "$text"
// key becomes rich text, json.Number a number (int64 when integral).
func propValue(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		return x.Float64()
	case map[string]any:
		if t, ok := x["$text"]; ok {
			b, err := json.Marshal(x)
			if err != nil {
				return nil, err
			}
			var rt richTextJSON
			if err := json.Unmarshal(b, &rt); err != nil {
				return nil, fmt.Errorf("rich text %v: %w", t, err)
			}
			return engine.RichText{Text: rt.Text, Delta: rt.Delta}, nil
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := propValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := propValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	return v, nil
}

// decodeJSONBody reads a JSON object body into v (numbers as json.Number);
// on failure it answers 400 or 413 and reports false.
func (s *Server) decodeJSONBody(w http.ResponseWriter, req *http.Request, v any) bool {
	body, ok := s.readBody(w, req)
	if !ok {
		return false
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	if d.More() {
		writeError(w, http.StatusBadRequest, codeBadRequest, "invalid JSON body: data after the object")
		return false
	}
	return true
}

func (s *Server) handleListBlocks(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("ws")
	if !s.authorize(w, req, name, AccessRead) {
		return
	}
	q := req.URL.Query()
	flavour := q.Get("flavour")
	parent, byParent := engine.BlockID(q.Get("parent")), q.Has("parent")
	ws, err := s.store.Workspace(req.Context(), name)
	if err != nil {
		s.engineError(w, name, err)
		return
	}
	out := []blockJSON{}
	var lsn oplog.LSN
	err = ws.View(req.Context(), func(v *engine.ReadView) error {
		lsn = v.LSN()
		var ids []engine.BlockID
		switch {
		case byParent && parent == "":
			ids = v.Roots()
		case byParent:
			ids = v.Children(parent)
		default:
			ids = v.IDs()
		}
		for _, id := range ids {
			b, ok := v.Get(id)
			if !ok || flavour != "" && b.Flavour != flavour {
				continue
			}
			out = append(out, toBlockJSON(b))
		}
		return nil
	})
	if err != nil {
		s.engineError(w, name, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"lsn": uint64(lsn), "blocks": out})
}

func (s *Server) handleGetBlock(w http.ResponseWriter, req *http.Request) {
	name, id := req.PathValue("ws"), engine.BlockID(req.PathValue("id"))
	if !s.authorize(w, req, name, AccessRead) {
		return
	}
	ws, err := s.store.Workspace(req.Context(), name)
	if err != nil {
		s.engineError(w, name, err)
		return
	}
	b, ok, err := ws.Get(req.Context(), id)
	if err != nil {
		s.engineError(w, name, err)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("no block %q", id))
		return
	}
	writeJSON(w, http.StatusOK, toBlockJSON(b))
}

// createRequest is the body of POST .../blocks.
type createRequest struct {
	ID      engine.BlockID `json:"id"`
	Flavour string         `json:"flavour"`
	Parent  engine.BlockID `json:"parent"`
	Index   *int           `json:"index"`
	Creator string         `json:"creator"`
	Props   map[string]any `json:"props"`
}

func (s *Server) handleCreateBlock(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("ws")
	if !s.authorize(w, req, name, AccessWrite) {
		return
	}
	var cr createRequest
	if !s.decodeJSONBody(w, req, &cr) {
		return
	}
	if cr.Flavour == "" {
		writeError(w, http.StatusBadRequest, codeBadRequest, "flavour is required")
		return
	}
	if cr.Index != nil && cr.Parent == "" {
		writeError(w, http.StatusBadRequest, codeBadRequest, "index needs a parent")
		return
	}
	nb := engine.NewBlock{ID: cr.ID, Flavour: cr.Flavour, Creator: cr.Creator, Parent: cr.Parent, Props: map[string]any{}}
	if cr.Index != nil {
		nb.Index, nb.AtIndex = *cr.Index, true
	}
	for k, v := range cr.Props {
		pv, err := propValue(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("prop %q: %v", k, err))
			return
		}
		nb.Props[k] = pv
	}
	var out engine.BlockView
	lsn, err := s.transact(req.Context(), w, name, func(b *engine.Blocks) error {
		if cr.Parent != "" && !b.Has(cr.Parent) {
			return fmt.Errorf("%w: parent %q", errBadParent, cr.Parent)
		}
		id, err := b.Create(nb)
		if err != nil {
			return err
		}
		out, _ = b.Get(id)
		return nil
	})
	if err != nil {
		return
	}
	w.Header().Set("Location", req.URL.Path+"/"+string(out.ID))
	writeJSON(w, http.StatusCreated, map[string]any{"lsn": uint64(lsn), "block": toBlockJSON(out)})
}

// errBadParent is a create or move naming a parent that does not exist: the
// request is wrong (400), the addressed resource is not missing.
var errBadParent = errors.New("no such parent block")

// patchRequest is the body of PATCH .../blocks/{id}.
type patchRequest struct {
	Set    map[string]any  `json:"set"`
	Remove []string        `json:"remove"`
	Parent *engine.BlockID `json:"parent"`
	Index  *int            `json:"index"`
}

func (s *Server) handlePatchBlock(w http.ResponseWriter, req *http.Request) {
	name, id := req.PathValue("ws"), engine.BlockID(req.PathValue("id"))
	if !s.authorize(w, req, name, AccessWrite) {
		return
	}
	var pr patchRequest
	if !s.decodeJSONBody(w, req, &pr) {
		return
	}
	set := make(map[string]any, len(pr.Set))
	for k, v := range pr.Set {
		pv, err := propValue(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("prop %q: %v", k, err))
			return
		}
		set[k] = pv
	}
	var out engine.BlockView
	lsn, err := s.transact(req.Context(), w, name, func(b *engine.Blocks) error {
		cur, ok := b.Get(id)
		if !ok {
			return fmt.Errorf("%w: %q", engine.ErrNotFound, id)
		}
		// Move first: it is the edit most likely to be refused (a cycle, an
		// index out of range), and a refusal before any change is cheap.
		if pr.Parent != nil || pr.Index != nil {
			parent, index := cur.Parent, -1
			if pr.Parent != nil {
				parent = *pr.Parent
			}
			if pr.Index != nil {
				index = *pr.Index
			}
			if parent != "" && !b.Has(parent) {
				return fmt.Errorf("%w: parent %q", errBadParent, parent)
			}
			if err := b.Move(id, parent, index); err != nil {
				return err
			}
		}
		for k, v := range set {
			if err := b.SetProp(id, k, v); err != nil {
				return err
			}
		}
		for _, k := range pr.Remove {
			if err := b.RemoveProp(id, k); err != nil {
				return err
			}
		}
		out, _ = b.Get(id)
		return nil
	})
	if err != nil {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"lsn": uint64(lsn), "block": toBlockJSON(out)})
}

func (s *Server) handleDeleteBlock(w http.ResponseWriter, req *http.Request) {
	name, id := req.PathValue("ws"), engine.BlockID(req.PathValue("id"))
	if !s.authorize(w, req, name, AccessWrite) {
		return
	}
	subtree := false
	if v := req.URL.Query().Get("subtree"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, codeBadRequest, "subtree must be true or false")
			return
		}
		subtree = b
	}
	lsn, err := s.transact(req.Context(), w, name, func(b *engine.Blocks) error {
		if !b.Has(id) {
			return fmt.Errorf("%w: %q", engine.ErrNotFound, id)
		}
		return b.Delete(id, subtree)
	})
	if err != nil {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"lsn": uint64(lsn)})
}

// transact runs fn in a transaction of workspace name (origin "http:blocks")
// after checking the document size limit; on failure it writes the error
// response and returns the error.
func (s *Server) transact(ctx context.Context, w http.ResponseWriter, name string, fn func(b *engine.Blocks) error) (oplog.LSN, error) {
	ws, err := s.store.Workspace(ctx, name)
	if err != nil {
		s.engineError(w, name, err)
		return 0, err
	}
	ds, err := s.docSizeOf(ctx, ws)
	if err != nil {
		s.engineError(w, name, err)
		return 0, err
	}
	// Transact does not return the update it logged: a block edit counts
	// as a small fixed size (docs/http-api.md, Limits).
	const estimate = 256
	if err := ds.reserve(estimate); err != nil {
		s.metrics.applyErrors.Add(1)
		s.engineError(w, name, err)
		return 0, err
	}
	start := time.Now()
	lsn, err := ws.Transact(ctx, "http:blocks", func(_ *crdt.Txn, b *engine.Blocks) error { return fn(b) })
	if err != nil {
		ds.unreserve(estimate)
		s.metrics.applyErrors.Add(1)
		if errors.Is(err, errBadParent) {
			writeError(w, http.StatusBadRequest, codeNotFound, err.Error())
		} else {
			s.engineError(w, name, err)
		}
		return 0, err
	}
	s.metrics.observeApply(time.Since(start))
	return lsn, nil
}
