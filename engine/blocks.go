package engine

import (
	"fmt"
	"slices"

	"octobase/engine/crdt"
	"octobase/engine/lib0"
)

// Blocks edits the blocks of one space inside a Workspace.Transact
// transaction. It is valid only during the callback it is passed to.
//
// Every method validates its arguments before it changes anything, so a
// method that returns an error has changed nothing. Every change stamps the
// blocks it touches in space:updated with the transaction's time.
// Reads (Get, Has, Children) see the transaction's own changes.
type Blocks struct {
	tx    *crdt.Txn
	tr    *tracker
	space string
	m     *crdt.Map
	now   int64
	newID func() BlockID
}

func newBlocks(tx *crdt.Txn, tr *tracker, space string, now int64, newID func() BlockID) (*Blocks, error) {
	if err := checkSpace(space); err != nil {
		return nil, err
	}
	m, err := tr.space(space)
	if err != nil {
		return nil, fmt.Errorf("engine: space %q: %w", space, err)
	}
	return &Blocks{tx: tx, tr: tr, space: space, m: m, now: now, newID: newID}, nil
}

// Txn returns the CRDT transaction, for edits beyond the block API (for
// example formatting a rich text returned by Text).
func (b *Blocks) Txn() *crdt.Txn { return b.tx }

// SpaceID returns the space b edits.
func (b *Blocks) SpaceID() string { return b.space }

// Now returns the transaction's time in milliseconds since the Unix epoch
// (from Options.Clock), the value written to sys:created and space:updated.
func (b *Blocks) Now() int64 { return b.now }

// Space returns a Blocks for another space of the workspace, in the same
// transaction. The space's root map (space:<id>) is created on first write.
func (b *Blocks) Space(id string) (*Blocks, error) {
	return newBlocks(b.tx, b.tr, id, b.now, b.newID)
}

func (b *Blocks) blockMap(id BlockID) (*crdt.Map, error) {
	v, ok := b.m.Get(string(id))
	if m, isMap := v.(*crdt.Map); ok && isMap {
		return m, nil
	}
	return nil, fmt.Errorf("%w: %q in space %q", ErrNotFound, id, b.space)
}

// touch records id's update time.
func (b *Blocks) touch(ids ...BlockID) {
	if b.tr.updated == nil {
		return
	}
	for _, id := range ids {
		if id == "" {
			continue
		}
		// Once per block and millisecond: every Set replaces the previous
		// item, leaving a deletion every peer keeps in its delete set.
		if v, ok := b.tr.updated.Get(string(id)); ok {
			if _, isNum := v.(float64); isNum && toMillis(v) == b.now {
				continue
			}
		}
		b.tr.updated.Set(b.tx, string(id), b.now)
	}
}

// Has reports whether the space holds block id.
func (b *Blocks) Has(id BlockID) bool {
	_, err := b.blockMap(id)
	return err == nil
}

// Get returns block id as it is in the transaction.
func (b *Blocks) Get(id BlockID) (BlockView, bool) {
	m, err := b.blockMap(id)
	if err != nil {
		return BlockView{}, false
	}
	var ms int64
	var has bool
	if b.tr.updated != nil && b.tr.updated.Has(string(id)) {
		op := readUpdated(b.tr.updated, id)
		ms, has = op.ms, true
	}
	return readBlock(id, m).view(b.space, ms, has), true
}

// Children returns the children of block id in the transaction.
func (b *Blocks) Children(id BlockID) ([]BlockID, error) {
	m, err := b.blockMap(id)
	if err != nil {
		return nil, err
	}
	v, _ := m.Get(keyChildren)
	return readChildren(v), nil
}

func (b *Blocks) parentOf(m *crdt.Map) BlockID {
	v, _ := m.Get(keyParent)
	s, _ := v.(string)
	return BlockID(s)
}

// NewBlock describes a block to create.
type NewBlock struct {
	// ID is the new block's id; empty means a generated one
	// (Options.NewBlockID).
	ID      BlockID
	Flavour string // required: the block's type, e.g. "affine:paragraph"
	Creator string // user id, stored as sys:creator
	// Parent, if set, is an existing block the new one is inserted under:
	// appended to its children, or inserted at child position Index
	// (0 = first) when AtIndex is set.
	Parent  BlockID
	Index   int
	AtIndex bool
	// Props are the initial properties: JSON values (anything lib0 can
	// encode: nil, bool, numbers, string, []any, map[string]any, ...) or
	// RichText for a Y.Text.
	Props map[string]any
}

func (nb *NewBlock) position() int {
	if nb.AtIndex {
		return nb.Index // negative: last
	}
	return -1
}

func checkPropValue(name string, v any) error {
	if name == "" {
		return fmt.Errorf("%w: empty property name", ErrInvalidName)
	}
	if _, ok := v.(RichText); ok {
		return nil
	}
	if _, err := lib0.AppendAny(nil, v); err != nil {
		return fmt.Errorf("engine: property %q: %w", name, err)
	}
	return nil
}

// Create creates a block and returns its id.
func (b *Blocks) Create(nb NewBlock) (BlockID, error) {
	if nb.Flavour == "" {
		return "", fmt.Errorf("engine: create block: empty flavour")
	}
	id := nb.ID
	if id == "" {
		for id == "" || b.m.Has(string(id)) {
			id = b.newID()
		}
	} else if b.m.Has(string(id)) {
		return "", fmt.Errorf("%w: %q in space %q", ErrExists, id, b.space)
	}
	for name, v := range nb.Props {
		if err := checkPropValue(name, v); err != nil {
			return "", err
		}
	}
	var parent *crdt.Map
	if nb.Parent != "" {
		var err error
		if parent, err = b.blockMap(nb.Parent); err != nil {
			return "", err
		}
		if _, err := childIndex(parent, nb.position(), 0); err != nil {
			return "", err
		}
	}

	bm := crdt.NewMap()
	if err := b.m.Set(b.tx, string(id), bm); err != nil {
		return "", err
	}
	bm.Set(b.tx, keyID, string(id))
	bm.Set(b.tx, keyFlavour, nb.Flavour)
	bm.Set(b.tx, keyChildren, crdt.NewArray())
	bm.Set(b.tx, keyCreated, b.now)
	bm.Set(b.tx, keyCreator, nb.Creator)
	names := make([]string, 0, len(nb.Props))
	for name := range nb.Props {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := setProp(b.tx, bm, name, nb.Props[name]); err != nil {
			return "", err // unreachable: values were checked
		}
	}
	if parent != nil {
		bm.Set(b.tx, keyParent, string(nb.Parent))
		arr := childrenArray(b.tx, parent)
		i, _ := childIndex(parent, nb.position(), 0)
		arr.Insert(b.tx, i, string(id))
	}
	b.touch(id, nb.Parent)
	return id, nil
}

func setProp(tx *crdt.Txn, bm *crdt.Map, name string, v any) error {
	key := propPrefix + name
	rt, ok := v.(RichText)
	if !ok {
		return bm.Set(tx, key, v)
	}
	t := crdt.NewText()
	if err := bm.Set(tx, key, t); err != nil {
		return err
	}
	if len(rt.Delta) > 0 {
		return t.ApplyDelta(tx, rt.Delta)
	}
	if rt.Text != "" {
		return t.Insert(tx, 0, rt.Text, nil)
	}
	return nil
}

// SetProp sets property name (stored as prop:<name>) of block id to a JSON
// value, or to a new rich text for a RichText.
func (b *Blocks) SetProp(id BlockID, name string, v any) error {
	bm, err := b.blockMap(id)
	if err != nil {
		return err
	}
	if err := checkPropValue(name, v); err != nil {
		return err
	}
	if err := setProp(b.tx, bm, name, v); err != nil {
		return err
	}
	b.touch(id)
	return nil
}

// RemoveProp removes property name of block id (no error if unset).
func (b *Blocks) RemoveProp(id BlockID, name string) error {
	bm, err := b.blockMap(id)
	if err != nil {
		return err
	}
	if bm.Has(propPrefix + name) {
		bm.Delete(b.tx, propPrefix+name)
		b.touch(id)
	}
	return nil
}

// Text returns the rich text of property name of block id, creating an
// empty one if the property is unset, for editing with the transaction
// (Txn): Insert, Delete, Format, ApplyDelta. It stamps the block as
// updated. ErrNotText if the property holds something else.
func (b *Blocks) Text(id BlockID, name string) (*crdt.Text, error) {
	bm, err := b.blockMap(id)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, fmt.Errorf("%w: empty property name", ErrInvalidName)
	}
	v, ok := bm.Get(propPrefix + name)
	if !ok {
		t := crdt.NewText()
		if err := bm.Set(b.tx, propPrefix+name, t); err != nil {
			return nil, err
		}
		b.touch(id)
		return t, nil
	}
	t, isText := v.(*crdt.Text)
	if !isText {
		return nil, fmt.Errorf("%w: %q of block %q", ErrNotText, name, id)
	}
	b.touch(id)
	return t, nil
}

// childrenArray returns the sys:children Y.Array of bm, creating it (and
// converting a plain JSON array written by another client) if needed.
func childrenArray(tx *crdt.Txn, bm *crdt.Map) *crdt.Array {
	v, _ := bm.Get(keyChildren)
	if a, ok := v.(*crdt.Array); ok {
		return a
	}
	ids := readChildren(v)
	a := crdt.NewArray()
	bm.Set(tx, keyChildren, a)
	for i, id := range ids {
		a.Insert(tx, i, string(id))
	}
	return a
}

// childIndex resolves a child position of bm for inserting, after removing
// `removed` of its current children: negative means last.
func childIndex(bm *crdt.Map, index, removed int) (int, error) {
	v, _ := bm.Get(keyChildren)
	var n int
	if a, ok := v.(*crdt.Array); ok {
		n = a.Len() // positions in the array, which Insert takes
	} else {
		n = len(readChildren(v))
	}
	n -= removed
	if index < 0 {
		return n, nil
	}
	if index > n {
		return 0, fmt.Errorf("%w: child index %d of %d", ErrOutOfRange, index, n)
	}
	return index, nil
}

// detach removes id from the children of its parent (all occurrences) and
// returns the parent.
func (b *Blocks) detach(id BlockID, bm *crdt.Map) BlockID {
	p := b.parentOf(bm)
	if p == "" {
		return ""
	}
	if pm, err := b.blockMap(p); err == nil {
		removeChild(b.tx, pm, id)
	}
	bm.Delete(b.tx, keyParent)
	return p
}

// removeChild deletes every occurrence of id from bm's children.
func removeChild(tx *crdt.Txn, bm *crdt.Map, id BlockID) {
	v, _ := bm.Get(keyChildren)
	a, ok := v.(*crdt.Array)
	if !ok {
		if readChildren(v) == nil {
			return
		}
		a = childrenArray(tx, bm)
	}
	vals := a.Values()
	for i := len(vals) - 1; i >= 0; i-- {
		if s, ok := vals[i].(string); ok && s == string(id) {
			a.Delete(tx, i, 1)
		}
	}
}

// countChild counts the occurrences of id among bm's children.
func countChild(bm *crdt.Map, id BlockID) int {
	v, _ := bm.Get(keyChildren)
	n := 0
	for _, c := range readChildren(v) {
		if c == id {
			n++
		}
	}
	return n
}

// isAncestor reports whether a is p or an ancestor of p (following
// sys:parent, safe against cycles in the data).
func (b *Blocks) isAncestor(a, p BlockID) bool {
	seen := map[BlockID]bool{}
	for p != "" && !seen[p] {
		if p == a {
			return true
		}
		seen[p] = true
		pm, err := b.blockMap(p)
		if err != nil {
			return false
		}
		p = b.parentOf(pm)
	}
	return false
}

// Move makes block id a child of parent at position index (counted after
// id was removed from its current place; negative means last). An empty
// parent detaches the block (it becomes a root).
func (b *Blocks) Move(id, parent BlockID, index int) error {
	return b.InsertChildren(parent, index, id)
}

// InsertChildren moves the blocks ids, in order, under parent at position
// index (counted after they were removed from their current places;
// negative means last). An empty parent detaches them.
func (b *Blocks) InsertChildren(parent BlockID, index int, ids ...BlockID) error {
	bms := make([]*crdt.Map, len(ids))
	for i, id := range ids {
		m, err := b.blockMap(id)
		if err != nil {
			return err
		}
		if slices.Index(ids, id) != i {
			return fmt.Errorf("engine: block %q listed twice", id)
		}
		bms[i] = m
	}
	var pm *crdt.Map
	if parent != "" {
		var err error
		if pm, err = b.blockMap(parent); err != nil {
			return err
		}
		removed := 0
		for _, id := range ids {
			if b.isAncestor(id, parent) {
				return fmt.Errorf("%w: %q under %q", ErrCycle, id, parent)
			}
			removed += countChild(pm, id)
		}
		if _, err := childIndex(pm, index, removed); err != nil {
			return err
		}
	}
	for i, id := range ids {
		old := b.detach(id, bms[i])
		b.touch(old)
	}
	if pm == nil {
		b.touch(ids...)
		return nil
	}
	i, _ := childIndex(pm, index, 0)
	vals := make([]any, len(ids))
	for j, id := range ids {
		vals[j] = string(id)
		bms[j].Set(b.tx, keyParent, string(parent))
	}
	childrenArray(b.tx, pm).Insert(b.tx, i, vals...)
	b.touch(ids...)
	b.touch(parent)
	return nil
}

// RemoveChildren detaches n children of parent starting at position index:
// they stay in the space, without a parent.
func (b *Blocks) RemoveChildren(parent BlockID, index, n int) error {
	pm, err := b.blockMap(parent)
	if err != nil {
		return err
	}
	v, _ := pm.Get(keyChildren)
	kids := readChildren(v)
	if index < 0 || n < 0 || index+n > len(kids) {
		return fmt.Errorf("%w: children [%d, %d) of %d", ErrOutOfRange, index, index+n, len(kids))
	}
	if n == 0 {
		return nil
	}
	childrenArray(b.tx, pm).Delete(b.tx, index, n)
	for _, id := range kids[index : index+n] {
		if m, err := b.blockMap(id); err == nil && b.parentOf(m) == parent && countChild(pm, id) == 0 {
			m.Delete(b.tx, keyParent)
			b.touch(id)
		}
	}
	b.touch(parent)
	return nil
}

// Delete deletes block id and removes it from its parent's children. With
// subtree, its descendants are deleted too; otherwise its children stay in
// the space, detached (without a parent).
func (b *Blocks) Delete(id BlockID, subtree bool) error {
	bm, err := b.blockMap(id)
	if err != nil {
		return err
	}
	b.touch(b.detach(id, bm))
	doomed := []BlockID{id}
	seen := map[BlockID]bool{id: true}
	for i := 0; i < len(doomed); i++ {
		m, err := b.blockMap(doomed[i])
		if err != nil {
			continue
		}
		v, _ := m.Get(keyChildren)
		for _, c := range readChildren(v) {
			cm, err := b.blockMap(c)
			if err != nil || seen[c] {
				continue
			}
			if !subtree {
				if b.parentOf(cm) == id {
					cm.Delete(b.tx, keyParent)
					b.touch(c)
				}
				continue
			}
			seen[c] = true
			doomed = append(doomed, c)
		}
	}
	for _, d := range doomed {
		b.m.Delete(b.tx, string(d))
		if b.tr.updated != nil {
			b.tr.updated.Delete(b.tx, string(d))
		}
	}
	return nil
}

// SetMeta sets key of the workspace metadata (space:meta) to a JSON value.
func (b *Blocks) SetMeta(key string, v any) error {
	if b.tr.meta == nil {
		return fmt.Errorf("engine: space:meta is not a map in this document")
	}
	if err := checkPropValue(key, v); err != nil {
		return err
	}
	if _, ok := v.(RichText); ok {
		return fmt.Errorf("engine: metadata %q: rich text is not supported", key)
	}
	return b.tr.meta.Set(b.tx, key, v)
}

// DeleteMeta removes key from the workspace metadata.
func (b *Blocks) DeleteMeta(key string) {
	if b.tr.meta != nil {
		b.tr.meta.Delete(b.tx, key)
	}
}
