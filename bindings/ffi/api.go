package ffi

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/oplog"
	"octobase/oplog/vfs"
	"octobase/query"
)

// API is one table of handles and the operations on them. The C ABI and the
// WebAssembly module each use a single process-wide API.
type API struct {
	t *table
}

// New returns an API with no open handles.
func New() *API { return &API{t: newTable()} }

// Handles returns the number of open handles (for tests and leak checks).
func (a *API) Handles() int { return a.t.len() }

// StoreOptions is the JSON accepted by OpenStore (every field optional).
type StoreOptions struct {
	// Memory keeps the store in memory (vfs.NewMem): nothing is written to
	// disk and everything is lost at Close. The directory is then only a
	// name.
	Memory bool `json:"memory"`
	// Durability is when an edit returns: "always" (fsynced, the default),
	// "interval" or "none" (see oplog.Durability).
	Durability string `json:"durability"`
	// ClientID is the CRDT client id of workspaces this store creates (0: a
	// random one). Two replicas of a workspace must never share one.
	ClientID uint64 `json:"client_id"`
}

// OpenStore opens (creating it if needed) the store in directory dir with
// the options in optsJSON ("" for defaults).
func (a *API) OpenStore(dir, optsJSON string) (Handle, error) {
	var o StoreOptions
	if optsJSON != "" {
		if err := decodeStrict("store options", optsJSON, &o); err != nil {
			return 0, err
		}
	}
	eo := &engine.Options{}
	if o.Durability != "" {
		d, err := oplog.ParseDurability(o.Durability)
		if err != nil {
			return 0, errorf(CodeInvalidArg, "store options: %v", err)
		}
		eo.Durability = d
	}
	if o.ClientID != 0 {
		if o.ClientID >= 1<<53 {
			return 0, errorf(CodeInvalidArg, "store options: client_id %d is not in [1, 2^53-1]", o.ClientID)
		}
		id := o.ClientID
		eo.ClientID = func(string) (uint64, error) { return id, nil }
	}
	if o.Memory {
		eo.FS = vfs.NewMem()
		// Closing idle workspaces of a memory store saves nothing, and its
		// timer would keep a JavaScript event loop alive.
		eo.IdleTimeout = -1
		if dir == "" {
			dir = "/octobase"
		}
	}
	if dir == "" {
		return 0, errorf(CodeInvalidArg, "open store: empty directory")
	}
	s, err := engine.Open(dir, eo)
	if err != nil {
		return 0, wrap(CodeIO, "open store "+dir, err)
	}
	h, err := a.t.add(&entry{kind: kindStore, s: s})
	if err != nil {
		s.Close()
		return 0, err
	}
	return h, nil
}

// CloseStore closes a store and invalidates its workspace and subscription
// handles (their subscriptions end).
func (a *API) CloseStore(h Handle) error {
	es, err := a.t.remove(h, kindStore)
	if err != nil {
		return err
	}
	for _, e := range es[1:] {
		if e.kind == kindSubscription {
			e.sub.Close()
		}
	}
	return wrap(CodeIO, "close store", es[0].s.Close())
}

// OpenWorkspace returns a handle to workspace name of store h, creating the
// workspace on first use. Each call returns a new handle.
func (a *API) OpenWorkspace(h Handle, name string) (Handle, error) {
	e, err := a.t.get(h, kindStore)
	if err != nil {
		return 0, err
	}
	ws, err := e.s.Workspace(context.Background(), name)
	if err != nil {
		return 0, wrap(CodeIO, fmt.Sprintf("open workspace %q", name), err)
	}
	return a.t.add(&entry{kind: kindWorkspace, store: h, ws: ws})
}

// CloseWorkspace releases a workspace handle. The workspace itself stays
// open in its store (other handles to it remain valid).
func (a *API) CloseWorkspace(h Handle) error {
	_, err := a.t.remove(h, kindWorkspace)
	return err
}

func (a *API) workspace(h Handle) (*engine.Workspace, error) {
	e, err := a.t.get(h, kindWorkspace)
	if err != nil {
		return nil, err
	}
	return e.ws, nil
}

// Apply integrates a yjs update (v1, or v2 when v2 is set) received from
// elsewhere, logs it with origin and returns its log position. A malformed
// update changes nothing and returns CodeUpdate.
func (a *API) Apply(h Handle, update []byte, origin string, v2 bool) (uint64, error) {
	ws, err := a.workspace(h)
	if err != nil {
		return 0, err
	}
	if len(update) == 0 {
		return 0, errorf(CodeUpdate, "apply update: empty update")
	}
	if !utf8.ValidString(origin) {
		return 0, errorf(CodeInvalidArg, "apply update: origin is not valid UTF-8")
	}
	var lsn oplog.LSN
	if v2 {
		lsn, err = ws.ApplyV2(context.Background(), update, origin)
	} else {
		lsn, err = ws.Apply(context.Background(), update, origin)
	}
	return uint64(lsn), wrap(CodeUpdate, "apply update", err)
}

// StateVector returns the workspace's encoded yjs state vector.
func (a *API) StateVector(h Handle) ([]byte, error) {
	ws, err := a.workspace(h)
	if err != nil {
		return nil, err
	}
	sv, err := ws.StateVector(context.Background())
	return sv, wrap(CodeIO, "state vector", err)
}

// EncodeState returns the workspace's state as a yjs v1 update: all of it
// for an empty sv, otherwise what a peer whose encoded state vector is sv
// is missing.
func (a *API) EncodeState(h Handle, sv []byte) ([]byte, error) {
	ws, err := a.workspace(h)
	if err != nil {
		return nil, err
	}
	if len(sv) > 0 {
		if _, err := crdt.DecodeStateVector(sv); err != nil {
			return nil, wrap(CodeUpdate, "encode state: malformed state vector", err)
		}
	}
	u, err := ws.EncodeStateAsUpdate(context.Background(), sv)
	return u, wrap(CodeUpdate, "encode state", err)
}

// LastLSN returns the log position of the workspace's last record.
func (a *API) LastLSN(h Handle) (uint64, error) {
	ws, err := a.workspace(h)
	if err != nil {
		return 0, err
	}
	lsn, err := ws.LastLSN(context.Background())
	return uint64(lsn), wrap(CodeIO, "last lsn", err)
}

// CreateBlock creates a block described by blockJSON
// ({"id"?, "flavour", "creator"?, "parent"?, "index"?, "props"?}) and returns
// the new block as JSON and the log position of the edit.
func (a *API) CreateBlock(h Handle, blockJSON, origin string) (string, uint64, error) {
	ws, err := a.workspace(h)
	if err != nil {
		return "", 0, err
	}
	var in newBlockJSON
	if err := decodeStrict("block", blockJSON, &in); err != nil {
		return "", 0, err
	}
	if in.Flavour == "" {
		return "", 0, errorf(CodeJSON, "block: missing flavour")
	}
	props, err := propsIn(in.Props)
	if err != nil {
		return "", 0, err
	}
	nb := engine.NewBlock{ID: in.ID, Flavour: in.Flavour, Creator: in.Creator, Parent: in.Parent, Props: props}
	if in.Index != nil {
		nb.Index, nb.AtIndex = *in.Index, true
	}
	var id engine.BlockID
	lsn, err := ws.Transact(context.Background(), origin, func(_ *crdt.Txn, b *engine.Blocks) error {
		var err error
		id, err = b.Create(nb)
		return err
	})
	if err != nil {
		return "", 0, wrap(CodeInvalidArg, "create block", err)
	}
	out, err := a.getJSON(ws, id)
	return out, uint64(lsn), err
}

func (a *API) getJSON(ws *engine.Workspace, id engine.BlockID) (string, error) {
	b, ok, err := ws.Get(context.Background(), id)
	if err != nil {
		return "", wrap(CodeIO, "get block", err)
	}
	if !ok {
		return "", errorf(CodeNotFound, "block %q not found", id)
	}
	return encodeBlock(b)
}

// GetBlock returns block id of the default space as JSON, or CodeNotFound.
func (a *API) GetBlock(h Handle, id string) (string, error) {
	ws, err := a.workspace(h)
	if err != nil {
		return "", err
	}
	return a.getJSON(ws, engine.BlockID(id))
}

// UpdateBlock edits block id with patch, a JSON object:
//
//	{"props": {name: value, ...},      set properties (rich text as {"$text": ...})
//	 "remove": [name, ...],            remove properties
//	 "text": {name: [delta ops], ...}, apply Quill deltas to rich-text properties
//	 "parent": id or "", "index": n}   move (under parent at index; "" detaches)
//
// all in one transaction, and returns the block as JSON and the edit's log
// position.
func (a *API) UpdateBlock(h Handle, id, patch, origin string) (string, uint64, error) {
	ws, err := a.workspace(h)
	if err != nil {
		return "", 0, err
	}
	var p patchJSON
	if err := decodeStrict("block patch", patch, &p); err != nil {
		return "", 0, err
	}
	props, err := propsIn(p.Props)
	if err != nil {
		return "", 0, err
	}
	deltas := map[string][]crdt.Delta{}
	for name, ops := range p.Text {
		if deltas[name], err = toDelta(ops); err != nil {
			return "", 0, err
		}
	}
	if p.Index != nil && p.Parent == nil {
		return "", 0, errorf(CodeJSON, "block patch: index without parent")
	}
	bid := engine.BlockID(id)
	lsn, err := ws.Transact(context.Background(), origin, func(tx *crdt.Txn, b *engine.Blocks) error {
		if !b.Has(bid) {
			return engine.ErrNotFound
		}
		for k, v := range props {
			if err := b.SetProp(bid, k, v); err != nil {
				return fmt.Errorf("set %q: %w", k, err)
			}
		}
		for _, k := range p.Remove {
			if err := b.RemoveProp(bid, k); err != nil {
				return fmt.Errorf("remove %q: %w", k, err)
			}
		}
		for name, d := range deltas {
			t, err := b.Text(bid, name)
			if err != nil {
				return fmt.Errorf("text %q: %w", name, err)
			}
			if err := t.ApplyDelta(tx, d); err != nil {
				return fmt.Errorf("text %q: %w", name, err)
			}
		}
		if p.Parent != nil {
			idx := -1
			if p.Index != nil {
				idx = *p.Index
			}
			if err := b.Move(bid, *p.Parent, idx); err != nil {
				return fmt.Errorf("move: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return "", 0, wrap(CodeInvalidArg, fmt.Sprintf("update block %q", id), err)
	}
	out, err := a.getJSON(ws, bid)
	return out, uint64(lsn), err
}

// DeleteBlock deletes block id (with its descendants when subtree is set)
// and returns the edit's log position.
func (a *API) DeleteBlock(h Handle, id string, subtree bool, origin string) (uint64, error) {
	ws, err := a.workspace(h)
	if err != nil {
		return 0, err
	}
	lsn, err := ws.Transact(context.Background(), origin, func(_ *crdt.Txn, b *engine.Blocks) error {
		return b.Delete(engine.BlockID(id), subtree)
	})
	return uint64(lsn), wrap(CodeInvalidArg, fmt.Sprintf("delete block %q", id), err)
}

// Query runs one OQL SELECT over the workspace (or the workspace its IN
// clause names, in the same store) with the parameters in paramsJSON (a JSON
// array binding $1, $2, ...; "" for none) and returns
// {"columns": [...], "rows": [{...}, ...]}.
func (a *API) Query(h Handle, src, paramsJSON string) (string, error) {
	e, err := a.t.get(h, kindWorkspace)
	if err != nil {
		return "", err
	}
	params, err := paramsIn(paramsJSON)
	if err != nil {
		return "", err
	}
	stmt, err := query.Parse(src)
	if err != nil {
		return "", wrap(CodeQuery, "query", err)
	}
	if n := query.NumParams(stmt); n != len(params) {
		return "", errorf(CodeQuery, "query: the statement has %d parameters, got %d", n, len(params))
	}
	if stmt, err = query.Bind(stmt, params); err != nil {
		return "", wrap(CodeQuery, "query", err)
	}
	sel, ok := stmt.(*query.Select)
	if !ok {
		return "", errorf(CodeQuery, "query: only SELECT is supported here; use a subscription for change streams")
	}
	ctx := context.Background()
	ws := e.ws
	if sel.Workspace != nil {
		se, err := a.t.get(e.store, kindStore)
		if err != nil {
			return "", err
		}
		lit, ok := sel.Workspace.(*query.Literal)
		if !ok {
			return "", errorf(CodeQuery, "query: IN needs a workspace name")
		}
		if ws, err = se.s.Workspace(ctx, lit.Str); err != nil {
			return "", wrap(CodeQuery, "query", err)
		}
	}
	qs, err := query.NewWorkspaceSource(ctx, ws)
	if err != nil {
		return "", wrap(CodeIO, "query", err)
	}
	res, err := query.Exec(ctx, stmt, qs)
	if err != nil {
		return "", wrap(CodeQuery, "query", err)
	}
	return encodeResult(res)
}

// Subscribe opens a change stream of the workspace: from 0 delivers the
// changes after the current last record, from n > 0 replays the records
// from log position n on, then continues live.
func (a *API) Subscribe(h Handle, from uint64) (Handle, error) {
	e, err := a.t.get(h, kindWorkspace)
	if err != nil {
		return 0, err
	}
	sub, err := e.ws.Subscribe(context.Background(), oplog.LSN(from))
	if err != nil {
		return 0, wrap(CodeInvalidArg, "subscribe", err)
	}
	sh, err := a.t.add(&entry{kind: kindSubscription, store: e.store, sub: sub})
	if err != nil {
		sub.Close()
		return 0, err
	}
	return sh, nil
}

// Poll returns the subscription's next change as JSON
// ({"lsn", "time", "origin", "blocks": [{"space", "id", "op", "fields"}],
// "update": base64}), waiting at most timeout for one (0: not at all,
// negative: until one comes or the subscription ends). It returns ("", nil)
// when no change came in time, and CodeClosed once the subscription ended.
func (a *API) Poll(h Handle, timeout time.Duration) (string, error) {
	e, err := a.t.get(h, kindSubscription)
	if err != nil {
		return "", err
	}
	var (
		c  engine.Change
		ok bool
	)
	switch {
	case timeout == 0:
		select {
		case c, ok = <-e.sub.C:
		default:
			return "", nil
		}
	case timeout < 0:
		c, ok = <-e.sub.C
	default:
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case c, ok = <-e.sub.C:
		case <-t.C:
			return "", nil
		}
	}
	if !ok {
		cause := e.sub.Err()
		if cause == nil || errors.Is(cause, context.Canceled) {
			return "", errorf(CodeClosed, "poll: the subscription was closed")
		}
		return "", wrap(CodeClosed, "poll: the subscription ended", cause)
	}
	return encodeChange(c)
}

// CloseSubscription ends a subscription; a Poll blocked on it returns
// CodeClosed.
func (a *API) CloseSubscription(h Handle) error {
	es, err := a.t.remove(h, kindSubscription)
	if err != nil {
		return err
	}
	es[0].sub.Close()
	return nil
}
