package crdt

import (
	"slices"

	"octobase/engine/lib0"
)

// Map is a shared map from string keys to values (yjs Y.Map). Concurrent
// sets of one key resolve to the write of the higher client id; causally
// later writes always win.
type Map struct{ t *Type }

// NewMap returns a detached map to insert into a document.
func NewMap() *Map { return &Map{newType(KindMap)} }

// Type returns the underlying shared type.
func (m *Map) Type() *Type { return m.t }

// Set stores v under key. v is an Any value (nil, bool, numbers, string,
// []any, map[string]any, lib0.Object, lib0.BigInt, lib0.Undefined), []byte,
// a *SubDoc, or a new shared type (NewMap, NewArray, NewText, ...). tx may
// be nil for a transaction of its own.
func (m *Map) Set(tx *Txn, key string, v any) error {
	if m.t.doc == nil {
		return errDetached
	}
	return m.t.doc.withTxn(tx, func(tx *Txn) error { return m.t.mapSet(tx, key, v) })
}

// Delete removes key.
func (m *Map) Delete(tx *Txn, key string) {
	if m.t.doc == nil {
		return
	}
	_ = m.t.doc.withTxn(tx, func(tx *Txn) error { m.t.mapDelete(tx, key); return nil })
}

// Get returns the value of key; shared types come back as *Map, *Array,
// *Text, ...
func (m *Map) Get(key string) (any, bool) { return m.t.mapGet(key) }

// Has reports whether key is set.
func (m *Map) Has(key string) bool { _, ok := m.t.mapGet(key); return ok }

// Keys returns the keys, sorted.
func (m *Map) Keys() []string {
	k := m.t.mapKeys()
	slices.Sort(k)
	return k
}

// Len returns the number of keys.
func (m *Map) Len() int { return len(m.t.mapKeys()) }

// ToJSON returns the map as plain values, keys in the order yjs' toJSON
// lists them: a JavaScript object filled in the order the keys first
// appeared in this document (so integer-like keys come first).
func (m *Map) ToJSON() lib0.Object {
	out := lib0.Object{}
	for _, k := range m.t.keyOrder {
		if v, ok := m.t.mapGet(k); ok {
			out = append(out, lib0.Field{Key: k, Value: ToJSON(v)})
		}
	}
	return jsOrder(out)
}
