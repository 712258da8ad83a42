package engine

import (
	"slices"
	"strings"

	"octobase/engine/crdt"
)

// A tracker turns a document's observer events into touches: which blocks of
// which spaces a transaction created, deleted or changed (and which of
// their keys), which space:updated entries and which space:meta keys
// changed. It observes every root map named space:<id> (ObserveDeep), so it
// never reads the whole document per update: the cost is proportional to
// what changed. Roots that appear later (a remote update creating a new
// space) are found by checkRoots, called after each transaction, and
// scanned once.
//
// The engine runs one tracker on the live document (feeding the views and
// change events) and one on every scratch document it replays history into
// (Subscribe from an old position). A tracker, like its document, is used
// under the workspace lock or by one goroutine.
type tracker struct {
	doc     *crdt.Doc
	spaces  map[string]*crdt.Map // space id → root map
	known   map[string]bool      // root names already examined
	updated *crdt.Map
	meta    *crdt.Map
	on      bool // record touches (off while replaying what needs no events)
	t       touches
}

type touchKey struct {
	space string
	id    BlockID
}

// touch is what one or more transactions did to a block.
type touch struct {
	created  bool // the space map's key was (re)set to a new value
	deleted  bool // the key was deleted
	oldBlock bool // the value before was a Y.Map (a block)
	fields   map[string]struct{}
}

type touches struct {
	blocks  map[touchKey]*touch
	updated map[BlockID]struct{}
	meta    map[string]struct{}
}

func (t *touches) empty() bool {
	return len(t.blocks) == 0 && len(t.updated) == 0 && len(t.meta) == 0
}

func newTracker(doc *crdt.Doc) *tracker {
	tr := &tracker{doc: doc, spaces: map[string]*crdt.Map{}, known: map[string]bool{}}
	if m, err := doc.GetMap(updatedRoot); err == nil {
		tr.updated = m
		m.Type().ObserveDeep(tr.onUpdated)
	}
	if m, err := doc.GetMap(metaRoot); err == nil {
		tr.meta = m
		m.Type().ObserveDeep(tr.onMeta)
	}
	tr.known[updatedRoot], tr.known[metaRoot] = true, true
	tr.space(DefaultSpace)
	return tr
}

// take returns the touches recorded since the last take.
func (tr *tracker) take() touches {
	t := tr.t
	tr.t = touches{}
	return t
}

func (tr *tracker) block(space string, id BlockID) *touch {
	if tr.t.blocks == nil {
		tr.t.blocks = map[touchKey]*touch{}
	}
	k := touchKey{space, id}
	tc := tr.t.blocks[k]
	if tc == nil {
		tc = &touch{}
		tr.t.blocks[k] = tc
	}
	return tc
}

// space returns the root map of space id, observing it from now on. A root
// seen for the first time that already holds blocks has them recorded as
// created.
func (tr *tracker) space(id string) (*crdt.Map, error) {
	if m := tr.spaces[id]; m != nil {
		return m, nil
	}
	root := spacePrefix + id
	m, err := tr.doc.GetMap(root)
	tr.known[root] = true
	if err != nil {
		return nil, err // the root exists as another type: not a space
	}
	tr.spaces[id] = m
	m.Type().ObserveDeep(func(evs []*crdt.Event) { tr.onSpace(id, evs) })
	if tr.on {
		for _, k := range m.Keys() {
			tr.block(id, BlockID(k)).created = true
		}
	}
	return m, nil
}

// checkRoots starts tracking roots named space:<id> that appeared since the
// last call.
func (tr *tracker) checkRoots() {
	names := tr.doc.RootNames()
	if len(names) == len(tr.known) {
		return
	}
	slices.Sort(names)
	for _, n := range names {
		if tr.known[n] {
			continue
		}
		tr.known[n] = true
		if id, ok := strings.CutPrefix(n, spacePrefix); ok && checkSpace(id) == nil {
			tr.space(id)
		}
	}
}

func (tr *tracker) onSpace(space string, evs []*crdt.Event) {
	if !tr.on {
		return
	}
	for _, e := range evs {
		path := e.Path()
		if len(path) == 0 {
			for k, ch := range e.Keys() {
				tc := tr.block(space, BlockID(k))
				if !tc.created && !tc.deleted {
					_, tc.oldBlock = ch.OldValue.(*crdt.Map)
				}
				if ch.Action == crdt.KeyDelete {
					tc.created, tc.deleted = false, true
				} else {
					tc.created, tc.deleted = true, false
				}
			}
			continue
		}
		id, ok := path[0].(string)
		if !ok {
			continue
		}
		tc := tr.block(space, BlockID(id))
		if tc.fields == nil {
			tc.fields = map[string]struct{}{}
		}
		if len(path) == 1 {
			for k := range e.Keys() {
				tc.fields[k] = struct{}{}
			}
		} else if k, ok := path[1].(string); ok {
			tc.fields[k] = struct{}{}
		}
	}
}

func (tr *tracker) onUpdated(evs []*crdt.Event) {
	if !tr.on {
		return
	}
	for _, e := range evs {
		if tr.t.updated == nil {
			tr.t.updated = map[BlockID]struct{}{}
		}
		path := e.Path()
		if len(path) > 0 {
			if k, ok := path[0].(string); ok {
				tr.t.updated[BlockID(k)] = struct{}{}
			}
			continue
		}
		for k := range e.Keys() {
			tr.t.updated[BlockID(k)] = struct{}{}
		}
	}
}

func (tr *tracker) onMeta(evs []*crdt.Event) {
	if !tr.on {
		return
	}
	for _, e := range evs {
		if tr.t.meta == nil {
			tr.t.meta = map[string]struct{}{}
		}
		path := e.Path()
		if len(path) > 0 {
			if k, ok := path[0].(string); ok {
				tr.t.meta[k] = struct{}{}
			}
			continue
		}
		for k := range e.Keys() {
			tr.t.meta[k] = struct{}{}
		}
	}
}

// blockMap returns the Y.Map of a block, if the space holds one under id.
func (tr *tracker) blockMap(space string, id BlockID) (*crdt.Map, bool) {
	sm := tr.spaces[space]
	if sm == nil {
		return nil, false
	}
	v, ok := sm.Get(string(id))
	if !ok {
		return nil, false
	}
	m, ok := v.(*crdt.Map)
	return m, ok
}

// changes turns touches into the BlockChanges of a Change, reading the
// document for what exists now.
func (tr *tracker) changes(t *touches) []BlockChange {
	if len(t.blocks) == 0 {
		return nil
	}
	out := make([]BlockChange, 0, len(t.blocks))
	for k, tc := range t.blocks {
		_, isBlock := tr.blockMap(k.space, k.id)
		c := BlockChange{Space: k.space, ID: k.id}
		switch {
		case tc.created && isBlock:
			c.Op = Created
		case (tc.created || tc.deleted) && tc.oldBlock && !isBlock:
			c.Op = Deleted
		case !tc.created && !tc.deleted && isBlock && len(tc.fields) > 0:
			c.Op = Updated
			c.Fields = make([]string, 0, len(tc.fields))
			for f := range tc.fields {
				c.Fields = append(c.Fields, f)
			}
			slices.Sort(c.Fields)
		default:
			continue // not a block before or after
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortFunc(out, func(a, b BlockChange) int {
		if c := strings.Compare(a.Space, b.Space); c != 0 {
			return c
		}
		return strings.Compare(string(a.ID), string(b.ID))
	})
	return out
}
