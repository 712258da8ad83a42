package crdt

import (
	"octobase/engine/lib0"
)

// Kind is a shared type's kind; its numeric value is the yjs type ref.
type Kind uint8

// Type kinds, numbered as yjs' typeRefs.
const (
	KindArray       Kind = 0
	KindMap         Kind = 1
	KindText        Kind = 2
	KindXmlElement  Kind = 3
	KindXmlFragment Kind = 4
	KindXmlHook     Kind = 5
	KindXmlText     Kind = 6
	// KindUndefined is a root that updates referenced but nobody accessed.
	KindUndefined Kind = 255
)

func (k Kind) String() string {
	switch k {
	case KindArray:
		return "array"
	case KindMap:
		return "map"
	case KindText:
		return "text"
	case KindXmlElement:
		return "xml element"
	case KindXmlFragment:
		return "xml fragment"
	case KindXmlHook:
		return "xml hook"
	case KindXmlText:
		return "xml text"
	}
	return "undefined type"
}

// Type is the shared part of every CRDT type (yjs' AbstractType): a list of
// items (start, length) and a map of keyed items (m). The exported wrappers
// Map, Array, Text, XmlFragment, XmlElement and XmlText give it an API.
type Type struct {
	doc      *Doc
	item     *Item // the item holding this type; nil for roots
	rootName string
	kind     Kind
	name     string // XmlElement node name or XmlHook hook name

	start    *Item
	m        map[string]*Item
	keyOrder []string // map keys in the order they first appeared (a JS Map's order)
	length   int

	markers       *searchMarkers
	hasFormatting bool

	observers     []*observer
	deepObservers []*deepObserver
}

func newType(k Kind) *Type {
	t := &Type{kind: k}
	if k == KindArray || k == KindText || k == KindXmlText {
		t.markers = &searchMarkers{}
	}
	return t
}

// Kind returns the type's kind.
func (t *Type) Kind() Kind { return t.kind }

// Len returns the number of visible list elements (UTF-16 units for text).
func (t *Type) Len() int { return t.length }

// Doc returns the document the type belongs to (nil before integration).
func (t *Type) Doc() *Doc { return t.doc }

// Parent returns the type containing t, or nil for a root.
func (t *Type) Parent() *Type {
	if t.item == nil {
		return nil
	}
	return t.item.parent
}

// copyEmpty returns a new, empty type of the same kind.
func (t *Type) copyEmpty() *Type {
	c := newType(t.kind)
	c.name = t.name
	return c
}

// value wraps t in its API type.
func (t *Type) value() any {
	switch t.kind {
	case KindMap:
		return &Map{t}
	case KindArray:
		return &Array{t}
	case KindText:
		return &Text{t}
	case KindXmlElement:
		return &XmlElement{t}
	case KindXmlFragment:
		return &XmlFragment{t}
	case KindXmlText:
		return &XmlText{Text{t}}
	case KindXmlHook:
		return &XmlHook{t}
	}
	return t
}

// asType extracts the *Type from an API wrapper.
func asType(v any) (*Type, bool) {
	switch x := v.(type) {
	case *Type:
		return x, true
	case *Map:
		return x.t, true
	case *Array:
		return x.t, true
	case *Text:
		return x.t, true
	case *XmlElement:
		return x.t, true
	case *XmlFragment:
		return x.t, true
	case *XmlText:
		return x.t, true
	case *XmlHook:
		return x.t, true
	}
	return nil, false
}

// ---- list operations ----

// listInsert inserts values at index. Values are Any values, []byte, *SubDoc
// or new (unintegrated) types.
func (t *Type) listInsert(tx *Txn, index int, values []any) error {
	if index < 0 || index > t.length {
		return ErrOutOfRange
	}
	if index == 0 {
		if t.markers != nil {
			t.markers.updateChanges(0, len(values))
		}
		return t.listInsertAfter(tx, nil, values)
	}
	start := index
	n := t.start
	if m := t.markers.find(t, index); m != nil {
		n = m.p
		index -= m.index
		if index == 0 {
			n = n.prev()
			if n != nil && n.visible() {
				index += int(n.Length)
			}
		}
	}
	for ; n != nil; n = n.Right {
		if n.visible() {
			if index <= int(n.Length) {
				if index < int(n.Length) {
					if _, err := tx.doc.store.getItemCleanStart(tx, ID{n.ID.Client, n.ID.Clock + uint32(index)}); err != nil {
						return err
					}
				}
				break
			}
			index -= int(n.Length)
		}
	}
	if t.markers != nil {
		t.markers.updateChanges(start, len(values))
	}
	return t.listInsertAfter(tx, n, values)
}

// listInsertAfter inserts values right after ref (nil: at the start).
func (t *Type) listInsertAfter(tx *Txn, ref *Item, values []any) error {
	left := ref
	doc := tx.doc
	var right *Item
	if ref == nil {
		right = t.start
	} else {
		right = ref.Right
	}
	var pack []any
	insert := func(c content) error {
		id := ID{doc.clientID, doc.store.getState(doc.clientID)}
		var origin, rorigin *ID
		if left != nil {
			o := left.lastID()
			origin = &o
		}
		if right != nil {
			r := right.ID
			rorigin = &r
		}
		it := newItem(id, left, origin, right, rorigin, t, nil, c)
		if err := it.integrate(tx, 0); err != nil {
			return err
		}
		left = it
		return nil
	}
	flush := func() error {
		if len(pack) == 0 {
			return nil
		}
		c := &contentAny{arr: pack}
		pack = nil
		return insert(c)
	}
	for _, v := range values {
		switch x := v.(type) {
		case []byte:
			if err := flush(); err != nil {
				return err
			}
			if err := insert(&contentBinary{append([]byte(nil), x...)}); err != nil {
				return err
			}
		case *SubDoc:
			if err := flush(); err != nil {
				return err
			}
			if err := insert(&contentDoc{x}); err != nil {
				return err
			}
		default:
			if nt, ok := asType(v); ok {
				if err := flush(); err != nil {
					return err
				}
				if nt.doc != nil || nt.item != nil {
					return ErrInvalidValue
				}
				if err := insert(&contentType{nt}); err != nil {
					return err
				}
				continue
			}
			a, err := normalizeAny(v)
			if err != nil {
				return err
			}
			if _, isBig := a.(lib0.BigInt); isBig || a == lib0.Undefined {
				return ErrInvalidValue
			}
			pack = append(pack, a)
		}
	}
	return flush()
}

// listDelete deletes length elements starting at index.
func (t *Type) listDelete(tx *Txn, index, length int) error {
	if length == 0 {
		return nil
	}
	if index < 0 || length < 0 || index+length > t.length {
		return ErrOutOfRange
	}
	start, startLen := index, length
	n := t.start
	if m := t.markers.find(t, index); m != nil {
		n = m.p
		index -= m.index
	}
	s := tx.doc.store
	for ; n != nil && index > 0; n = n.Right {
		if n.visible() {
			if index < int(n.Length) {
				if _, err := s.getItemCleanStart(tx, ID{n.ID.Client, n.ID.Clock + uint32(index)}); err != nil {
					return err
				}
			}
			index -= int(n.Length)
		}
	}
	for length > 0 && n != nil {
		if !n.Deleted() {
			if length < int(n.Length) {
				if _, err := s.getItemCleanStart(tx, ID{n.ID.Client, n.ID.Clock + uint32(length)}); err != nil {
					return err
				}
			}
			n.delete(tx)
			length -= int(n.Length)
		}
		n = n.Right
	}
	if length > 0 {
		return ErrOutOfRange
	}
	if t.markers != nil {
		t.markers.updateChanges(start, -startLen+length)
	}
	return nil
}

// listGet returns the element at index.
func (t *Type) listGet(index int) (any, bool) {
	if index < 0 || index >= t.length {
		return nil, false
	}
	n := t.start
	if m := t.markers.find(t, index); m != nil {
		n = m.p
		index -= m.index
	}
	for ; n != nil; n = n.Right {
		if n.visible() {
			if index < int(n.Length) {
				return n.content.values()[index], true
			}
			index -= int(n.Length)
		}
	}
	return nil, false
}

// listValues returns every visible element.
func (t *Type) listValues() []any {
	out := make([]any, 0, t.length)
	for n := t.start; n != nil; n = n.Right {
		if n.visible() {
			out = append(out, n.content.values()...)
		}
	}
	return out
}

// ---- map operations ----

func (t *Type) mapSet(tx *Txn, key string, v any) error {
	var c content
	switch x := v.(type) {
	case []byte:
		c = &contentBinary{append([]byte(nil), x...)}
	case *SubDoc:
		c = &contentDoc{x}
	default:
		if nt, ok := asType(v); ok {
			if nt.doc != nil || nt.item != nil {
				return ErrInvalidValue
			}
			c = &contentType{nt}
			break
		}
		a, err := normalizeAny(v)
		if err != nil {
			return err
		}
		c = &contentAny{arr: []any{a}}
	}
	left := t.m[key]
	doc := tx.doc
	var origin *ID
	if left != nil {
		o := left.lastID()
		origin = &o
	}
	k := key
	it := newItem(ID{doc.clientID, doc.store.getState(doc.clientID)}, left, origin, nil, nil, t, &k, c)
	return it.integrate(tx, 0)
}

func (t *Type) mapDelete(tx *Txn, key string) {
	if it := t.m[key]; it != nil {
		it.delete(tx)
	}
}

func (t *Type) mapGet(key string) (any, bool) {
	it := t.m[key]
	if it == nil || it.Deleted() {
		return nil, false
	}
	vals := it.content.values()
	if len(vals) == 0 {
		// A map slot whose item carries no values (e.g. a format item a
		// hostile update placed there): yjs reads undefined.
		return lib0.Undefined, true
	}
	return vals[len(vals)-1], true
}

func (t *Type) mapKeys() []string {
	out := make([]string, 0, len(t.m))
	for k, it := range t.m {
		if !it.Deleted() {
			out = append(out, k)
		}
	}
	return out
}
