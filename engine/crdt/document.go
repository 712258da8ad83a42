package crdt

import (
	"fmt"
)

// Options configure a Doc. The zero value is not valid: ClientID is required
// (the CRDT never picks random ids; callers supply them).
type Options struct {
	// ClientID identifies this replica's edits; 1 ≤ ClientID ≤ 2^53-1.
	// yjs uses random 32-bit ids; reusing an id another replica uses
	// corrupts both histories.
	ClientID uint64
	// GUID names the document (sub-documents are referenced by it).
	GUID string
	// DisableGC keeps deleted content, which reading old snapshots needs.
	DisableGC bool
	// NewClientID is called when a remote update carries edits made with
	// this document's client id (yjs then picks a new id). When nil, the
	// next id is derived deterministically from the old one.
	NewClientID func(old uint64) uint64
}

// Doc is a yjs-compatible document: a set of named root types and the
// history of every change to them. A Doc is not safe for concurrent use;
// callers serialize access (the engine holds one lock per workspace).
type Doc struct {
	clientID    uint64
	guid        string
	gc          bool
	newClientID func(uint64) uint64

	store *store
	share map[string]*Type

	txn      *Txn
	spare    *Txn // a finished transaction, reused by the next one
	cleanups []*Txn
	scan     scanSet // scratch for conflict scans
	scratch  Item    // scratch for decoding GC structs

	onUpdate      []*updateHandler
	onUpdateV2    []*updateHandler
	onAfterTxn    []*txnHandler
	handlerSerial int
}

type updateHandler struct {
	id int
	fn func(update []byte, tx *Txn)
}

type txnHandler struct {
	id int
	fn func(tx *Txn)
}

// NewDoc creates an empty document.
func NewDoc(opts Options) (*Doc, error) {
	if opts.ClientID == 0 || opts.ClientID > MaxClientID {
		return nil, fmt.Errorf("crdt: client id %d out of range [1, 2^53-1]", opts.ClientID)
	}
	return &Doc{
		clientID:    opts.ClientID,
		guid:        opts.GUID,
		gc:          !opts.DisableGC,
		newClientID: opts.NewClientID,
		store:       newStore(),
		share:       make(map[string]*Type),
	}, nil
}

// MustNewDoc is NewDoc for ids known to be valid; it panics otherwise.
func MustNewDoc(opts Options) *Doc {
	d, err := NewDoc(opts)
	if err != nil {
		panic(err)
	}
	return d
}

// ClientID returns the id this replica's edits are made with.
func (d *Doc) ClientID() uint64 { return d.clientID }

// GUID returns the document's guid.
func (d *Doc) GUID() string { return d.guid }

// GCEnabled reports whether deleted content is garbage-collected.
func (d *Doc) GCEnabled() bool { return d.gc }

// StateVector returns the document's state vector.
func (d *Doc) StateVector() StateVector { return d.store.stateVector() }

// RootNames returns the names of the root types that exist in the document,
// including roots that updates referenced but nobody accessed yet.
func (d *Doc) RootNames() []string {
	out := make([]string, 0, len(d.share))
	for k := range d.share {
		out = append(out, k)
	}
	return out
}

// getRoot returns the root type name, creating an untyped placeholder.
func (d *Doc) getRoot(name string) *Type {
	t := d.share[name]
	if t == nil {
		t = newType(KindUndefined)
		t.doc = d
		t.rootName = name
		d.share[name] = t
	}
	return t
}

// root returns the root type name with kind k. A placeholder takes the kind
// on first typed access; a root already used with another kind is an error.
func (d *Doc) root(name string, k Kind) (*Type, error) {
	t := d.getRoot(name)
	if t.kind == KindUndefined {
		// yjs replaces the placeholder by a new instance of the requested
		// type: it starts with fresh search markers and forgets that
		// formatting was seen. We keep the instance and reset the same
		// state, so positions are found exactly as yjs finds them.
		t.kind = k
		t.hasFormatting = false
		t.markers = nil
		if k == KindArray || k == KindText || k == KindXmlText {
			t.markers = &searchMarkers{}
		}
		return t, nil
	}
	if t.kind != k && !(t.kind == KindXmlFragment && k == KindXmlFragment) {
		return nil, fmt.Errorf("crdt: root %q is a %s, not a %s", name, t.kind, k)
	}
	return t, nil
}

// GetMap returns the root map name.
func (d *Doc) GetMap(name string) (*Map, error) {
	t, err := d.root(name, KindMap)
	if err != nil {
		return nil, err
	}
	return &Map{t}, nil
}

// GetArray returns the root array name.
func (d *Doc) GetArray(name string) (*Array, error) {
	t, err := d.root(name, KindArray)
	if err != nil {
		return nil, err
	}
	return &Array{t}, nil
}

// GetText returns the root text name.
func (d *Doc) GetText(name string) (*Text, error) {
	t, err := d.root(name, KindText)
	if err != nil {
		return nil, err
	}
	return &Text{t}, nil
}

// GetXmlFragment returns the root XML fragment name.
func (d *Doc) GetXmlFragment(name string) (*XmlFragment, error) {
	t, err := d.root(name, KindXmlFragment)
	if err != nil {
		return nil, err
	}
	return &XmlFragment{t}, nil
}

// OnUpdate registers fn to receive the v1 update of every transaction that
// changed the document. It returns a function that unregisters it.
func (d *Doc) OnUpdate(fn func(update []byte, tx *Txn)) (cancel func()) {
	d.handlerSerial++
	h := &updateHandler{d.handlerSerial, fn}
	d.onUpdate = append(d.onUpdate, h)
	return func() { d.onUpdate = removeHandler(d.onUpdate, h) }
}

// OnUpdateV2 is OnUpdate with updates in format v2.
func (d *Doc) OnUpdateV2(fn func(update []byte, tx *Txn)) (cancel func()) {
	d.handlerSerial++
	h := &updateHandler{d.handlerSerial, fn}
	d.onUpdateV2 = append(d.onUpdateV2, h)
	return func() { d.onUpdateV2 = removeHandler(d.onUpdateV2, h) }
}

// OnAfterTransaction registers fn to run after each transaction's observers.
func (d *Doc) OnAfterTransaction(fn func(tx *Txn)) (cancel func()) {
	d.handlerSerial++
	h := &txnHandler{d.handlerSerial, fn}
	d.onAfterTxn = append(d.onAfterTxn, h)
	return func() { d.onAfterTxn = removeHandler(d.onAfterTxn, h) }
}

func removeHandler[T comparable](hs []T, h T) []T {
	out := make([]T, 0, len(hs))
	for _, x := range hs {
		if x != h {
			out = append(out, x)
		}
	}
	return out
}
