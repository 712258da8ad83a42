package crdt

import (
	"unicode/utf8"

	"octobase/engine/lib0"
)

// Content reference numbers: the low five bits of a struct's info byte.
const (
	refGC      = 0
	refDeleted = 1
	refJSON    = 2
	refBinary  = 3
	refString  = 4
	refEmbed   = 5
	refFormat  = 6
	refType    = 7
	refAny     = 8
	refDoc     = 9
	refSkip    = 10
)

// content is what an Item carries. Its length is the number of clock ticks
// the item spans; only String, JSON, Any and Deleted content can be split.
type content interface {
	length() uint32
	countable() bool
	ref() uint8
	// values returns the user-visible values, one per clock tick.
	values() []any
	copy() content
	// splice keeps [0,offset) and returns the rest. Only called on splittable
	// content with 0 < offset < length.
	splice(offset uint32) content
	// mergeWith appends right (of the same kind) and reports success.
	mergeWith(right content) bool
	integrate(tx *Txn, item *Item)
	delete(tx *Txn)
	gc(s *store)
	write(e updateEncoder, offset uint32)
}

// ---- Deleted ----

type contentDeleted struct{ n uint32 }

func (c *contentDeleted) length() uint32  { return c.n }
func (c *contentDeleted) countable() bool { return false }
func (c *contentDeleted) ref() uint8      { return refDeleted }
func (c *contentDeleted) values() []any   { return nil }
func (c *contentDeleted) copy() content   { return &contentDeleted{c.n} }
func (c *contentDeleted) delete(*Txn)     {}
func (c *contentDeleted) gc(*store)       {}
func (c *contentDeleted) splice(off uint32) content {
	r := &contentDeleted{c.n - off}
	c.n = off
	return r
}
func (c *contentDeleted) mergeWith(r content) bool {
	c.n += r.(*contentDeleted).n
	return true
}
func (c *contentDeleted) integrate(tx *Txn, item *Item) {
	tx.addDeleted(item.ID.Client, item.ID.Clock, c.n)
	item.markDeleted()
}
func (c *contentDeleted) write(e updateEncoder, off uint32) { e.writeLen(c.n - off) }

// ---- JSON (legacy) ----

type contentJSON struct{ arr []any }

func (c *contentJSON) length() uint32  { return uint32(len(c.arr)) }
func (c *contentJSON) countable() bool { return true }
func (c *contentJSON) ref() uint8      { return refJSON }
func (c *contentJSON) values() []any   { return c.arr }
func (c *contentJSON) copy() content   { return &contentJSON{append([]any(nil), c.arr...)} }
func (c *contentJSON) splice(off uint32) content {
	r := &contentJSON{append([]any(nil), c.arr[off:]...)}
	c.arr = c.arr[:off:off]
	return r
}
func (c *contentJSON) mergeWith(r content) bool {
	c.arr = append(c.arr, r.(*contentJSON).arr...)
	return true
}
func (c *contentJSON) integrate(*Txn, *Item) {}
func (c *contentJSON) delete(*Txn)           {}
func (c *contentJSON) gc(*store)             {}
func (c *contentJSON) write(e updateEncoder, off uint32) {
	e.writeLen(uint32(len(c.arr)) - off)
	for _, v := range c.arr[off:] {
		e.writeString(stringifyJSON(v))
	}
}

// ---- Binary ----

type contentBinary struct{ b []byte }

func (c *contentBinary) length() uint32                    { return 1 }
func (c *contentBinary) countable() bool                   { return true }
func (c *contentBinary) ref() uint8                        { return refBinary }
func (c *contentBinary) values() []any                     { return []any{c.b} }
func (c *contentBinary) copy() content                     { return &contentBinary{c.b} }
func (c *contentBinary) splice(uint32) content             { panic("crdt: binary content cannot be split") }
func (c *contentBinary) mergeWith(content) bool            { return false }
func (c *contentBinary) integrate(*Txn, *Item)             {}
func (c *contentBinary) delete(*Txn)                       {}
func (c *contentBinary) gc(*store)                         {}
func (c *contentBinary) write(e updateEncoder, off uint32) { e.writeBuf(c.b) }

// ---- String ----

// contentString holds text as UTF-8 while its length counts UTF-16 code
// units, as yjs does. The byte slice is owned: splits cap the left part so a
// later append (merge) never writes into the right part's bytes.
type contentString struct {
	s []byte
	n uint32 // UTF-16 length
}

func newContentString(s string) *contentString {
	return &contentString{s: []byte(s), n: uint32(lib0.UTF16Len(s))}
}

func (c *contentString) length() uint32  { return c.n }
func (c *contentString) countable() bool { return true }
func (c *contentString) ref() uint8      { return refString }
func (c *contentString) str() string     { return string(c.s) }
func (c *contentString) values() []any {
	// yjs returns str.split(''): one element per UTF-16 unit. Surrogate
	// halves cannot be represented in Go strings; a pair is returned as the
	// rune followed by an empty string so the count stays exact.
	out := make([]any, 0, c.n)
	s := c.str()
	for _, r := range s {
		out = append(out, string(r))
		if r >= 0x10000 {
			out = append(out, "")
		}
	}
	return out
}
func (c *contentString) copy() content {
	return &contentString{s: append([]byte(nil), c.s...), n: c.n}
}
func (c *contentString) splice(off uint32) content {
	s := unsafeString(c.s)
	if int(c.n) == len(c.s) { // ASCII-compatible fast path: bytes == units
		r := &contentString{s: c.s[off:], n: c.n - off}
		c.s = c.s[:off:off]
		c.n = off
		return r
	}
	b, split := lib0.UTF16Offset(s, int(off))
	if !split {
		r := &contentString{s: c.s[b:], n: c.n - off}
		c.s = c.s[:b:b]
		c.n = off
		return r
	}
	// The offset falls inside a surrogate pair: yjs replaces both halves
	// with U+FFFD (one unit each), so lengths are preserved.
	_, size := utf8.DecodeRune(c.s[b:])
	left := make([]byte, 0, b+3)
	left = append(left, c.s[:b]...)
	left = append(left, "\uFFFD"...)
	right := make([]byte, 0, len(c.s)-b-size+3)
	right = append(right, "\uFFFD"...)
	right = append(right, c.s[b+size:]...)
	r := &contentString{s: right, n: c.n - off}
	c.s = left
	c.n = off
	return r
}
func (c *contentString) mergeWith(r content) bool {
	rs := r.(*contentString)
	c.s = append(c.s, rs.s...)
	c.n += rs.n
	return true
}
func (c *contentString) integrate(*Txn, *Item) {}
func (c *contentString) delete(*Txn)           {}
func (c *contentString) gc(*store)             {}
func (c *contentString) write(e updateEncoder, off uint32) {
	if off == 0 {
		e.writeString(unsafeString(c.s))
		return
	}
	s := unsafeString(c.s)
	if int(c.n) == len(c.s) {
		e.writeString(s[off:])
		return
	}
	b, split := lib0.UTF16Offset(s, int(off))
	if split {
		_, size := utf8.DecodeRuneInString(s[b:])
		e.writeString("\uFFFD" + s[b+size:])
		return
	}
	e.writeString(s[b:])
}

// ---- Embed ----

type contentEmbed struct{ v any }

func (c *contentEmbed) length() uint32                    { return 1 }
func (c *contentEmbed) countable() bool                   { return true }
func (c *contentEmbed) ref() uint8                        { return refEmbed }
func (c *contentEmbed) values() []any                     { return []any{c.v} }
func (c *contentEmbed) copy() content                     { return &contentEmbed{c.v} }
func (c *contentEmbed) splice(uint32) content             { panic("crdt: embed content cannot be split") }
func (c *contentEmbed) mergeWith(content) bool            { return false }
func (c *contentEmbed) integrate(*Txn, *Item)             {}
func (c *contentEmbed) delete(*Txn)                       {}
func (c *contentEmbed) gc(*store)                         {}
func (c *contentEmbed) write(e updateEncoder, off uint32) { e.writeJSON(c.v) }

// ---- Format ----

type contentFormat struct {
	key string
	v   any
}

func (c *contentFormat) length() uint32         { return 1 }
func (c *contentFormat) countable() bool        { return false }
func (c *contentFormat) ref() uint8             { return refFormat }
func (c *contentFormat) values() []any          { return nil }
func (c *contentFormat) copy() content          { return &contentFormat{c.key, c.v} }
func (c *contentFormat) splice(uint32) content  { panic("crdt: format content cannot be split") }
func (c *contentFormat) mergeWith(content) bool { return false }
func (c *contentFormat) integrate(tx *Txn, item *Item) {
	if p := item.parent; p != nil {
		p.markers = nil
		p.hasFormatting = true
	}
}
func (c *contentFormat) delete(*Txn) {}
func (c *contentFormat) gc(*store)   {}
func (c *contentFormat) write(e updateEncoder, off uint32) {
	e.writeKey(c.key)
	e.writeJSON(c.v)
}

// ---- Type ----

type contentType struct{ t *Type }

func (c *contentType) length() uint32         { return 1 }
func (c *contentType) countable() bool        { return true }
func (c *contentType) ref() uint8             { return refType }
func (c *contentType) values() []any          { return []any{c.t.value()} }
func (c *contentType) copy() content          { return &contentType{c.t.copyEmpty()} }
func (c *contentType) splice(uint32) content  { panic("crdt: type content cannot be split") }
func (c *contentType) mergeWith(content) bool { return false }
func (c *contentType) integrate(tx *Txn, item *Item) {
	c.t.doc = tx.doc
	c.t.item = item
}
func (c *contentType) delete(tx *Txn) {
	for it := c.t.start; it != nil; it = it.Right {
		if !it.Deleted() {
			it.delete(tx)
		} else if it.ID.Clock < tx.before(it.ID.Client) {
			tx.mergeStructs = append(tx.mergeStructs, it)
		}
	}
	for _, it := range c.t.m {
		if !it.Deleted() {
			it.delete(tx)
		} else if it.ID.Clock < tx.before(it.ID.Client) {
			tx.mergeStructs = append(tx.mergeStructs, it)
		}
	}
	delete(tx.changed, c.t)
}
func (c *contentType) gc(s *store) {
	for it := c.t.start; it != nil; it = it.Right {
		it.gc(s, true)
	}
	c.t.start = nil
	for _, it := range c.t.m {
		for ; it != nil; it = it.Left {
			it.gc(s, true)
		}
	}
	c.t.m = nil
	c.t.keyOrder = nil
}
func (c *contentType) write(e updateEncoder, off uint32) {
	e.writeTypeRef(uint8(c.t.kind))
	switch c.t.kind {
	case KindXmlElement, KindXmlHook:
		e.writeKey(c.t.name)
	}
}

// ---- Any ----

type contentAny struct{ arr []any }

func (c *contentAny) length() uint32  { return uint32(len(c.arr)) }
func (c *contentAny) countable() bool { return true }
func (c *contentAny) ref() uint8      { return refAny }
func (c *contentAny) values() []any   { return c.arr }
func (c *contentAny) copy() content   { return &contentAny{append([]any(nil), c.arr...)} }
func (c *contentAny) splice(off uint32) content {
	r := &contentAny{append([]any(nil), c.arr[off:]...)}
	c.arr = c.arr[:off:off]
	return r
}
func (c *contentAny) mergeWith(r content) bool {
	c.arr = append(c.arr, r.(*contentAny).arr...)
	return true
}
func (c *contentAny) integrate(*Txn, *Item) {}
func (c *contentAny) delete(*Txn)           {}
func (c *contentAny) gc(*store)             {}
func (c *contentAny) write(e updateEncoder, off uint32) {
	e.writeLen(uint32(len(c.arr)) - off)
	for _, v := range c.arr[off:] {
		e.writeAny(v)
	}
}

// ---- Doc (sub-document) ----

// SubDoc is a sub-document reference stored in a parent document. OctoBase
// keeps and re-encodes sub-documents but does not load them.
type SubDoc struct {
	GUID string
	// Opts are the normalized options yjs writes: gc:false, autoLoad:true
	// and meta, when set, in that order.
	Opts lib0.Object
}

type contentDoc struct{ d *SubDoc }

func (c *contentDoc) length() uint32         { return 1 }
func (c *contentDoc) countable() bool        { return true }
func (c *contentDoc) ref() uint8             { return refDoc }
func (c *contentDoc) values() []any          { return []any{c.d} }
func (c *contentDoc) copy() content          { return &contentDoc{&SubDoc{c.d.GUID, c.d.Opts}} }
func (c *contentDoc) splice(uint32) content  { panic("crdt: doc content cannot be split") }
func (c *contentDoc) mergeWith(content) bool { return false }
func (c *contentDoc) integrate(*Txn, *Item)  {}
func (c *contentDoc) delete(*Txn)            {}
func (c *contentDoc) gc(*store)              {}
func (c *contentDoc) write(e updateEncoder, off uint32) {
	e.writeString(c.d.GUID)
	e.writeAny(c.d.Opts)
}

// normalizeSubDocOpts mirrors `new ContentDoc(new Doc({guid, ...opts}))`:
// only a falsy gc, a truthy autoLoad and a non-null meta survive.
func normalizeSubDocOpts(opts any) lib0.Object {
	out := lib0.Object{}
	o, _ := opts.(lib0.Object)
	if v, ok := o.Get("gc"); ok && !truthy(v) && v != lib0.Undefined {
		out = append(out, lib0.Field{Key: "gc", Value: false})
	}
	if v, ok := o.Get("autoLoad"); ok && truthy(v) {
		out = append(out, lib0.Field{Key: "autoLoad", Value: true})
	}
	if v, ok := o.Get("meta"); ok && v != nil && v != lib0.Undefined {
		out = append(out, lib0.Field{Key: "meta", Value: v})
	}
	return out
}

// truthy is JavaScript's ToBoolean for Any values.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil, lib0.UndefinedType:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && x == x
	case lib0.BigInt:
		return x != 0
	case string:
		return x != ""
	}
	return true
}
