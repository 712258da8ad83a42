package crdt

import "errors"

var errDetached = errors.New("crdt: type is not part of a document yet")

// Array is a shared list of values (yjs Y.Array).
type Array struct{ t *Type }

// NewArray returns a detached array to insert into a document.
func NewArray() *Array { return &Array{newType(KindArray)} }

// Type returns the underlying shared type.
func (a *Array) Type() *Type { return a.t }

// Len returns the number of elements.
func (a *Array) Len() int { return a.t.length }

// Insert inserts values at index (see Map.Set for the accepted values).
func (a *Array) Insert(tx *Txn, index int, values ...any) error {
	if a.t.doc == nil {
		return errDetached
	}
	return a.t.doc.withTxn(tx, func(tx *Txn) error { return a.t.listInsert(tx, index, values) })
}

// Push appends values.
func (a *Array) Push(tx *Txn, values ...any) error {
	if a.t.doc == nil {
		return errDetached
	}
	return a.t.doc.withTxn(tx, func(tx *Txn) error { return a.t.listInsert(tx, a.t.length, values) })
}

// Delete removes length elements starting at index.
func (a *Array) Delete(tx *Txn, index, length int) error {
	if a.t.doc == nil {
		return errDetached
	}
	return a.t.doc.withTxn(tx, func(tx *Txn) error { return a.t.listDelete(tx, index, length) })
}

// Get returns the element at index.
func (a *Array) Get(index int) (any, bool) { return a.t.listGet(index) }

// Values returns all elements.
func (a *Array) Values() []any { return a.t.listValues() }

// ToJSON returns the elements as plain values.
func (a *Array) ToJSON() []any {
	vals := a.t.listValues()
	for i, v := range vals {
		vals[i] = ToJSON(v)
	}
	return vals
}
