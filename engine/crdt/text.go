package crdt

import (
	"reflect"
	"strings"

	"octobase/engine/lib0"
)

// Text is shared rich text (yjs Y.Text): a string with formatting
// attributes and embeds. Indexes and lengths count UTF-16 code units.
type Text struct{ t *Type }

// NewText returns a detached text to insert into a document.
func NewText() *Text { return &Text{newType(KindText)} }

// Type returns the underlying shared type.
func (x *Text) Type() *Type { return x.t }

// Len returns the length in UTF-16 code units.
func (x *Text) Len() int { return x.t.length }

// Delta is one operation of a rich-text delta (Quill's format): exactly one
// of Insert (a string, an embed value or a shared type), Delete or Retain is
// set.
type Delta struct {
	Insert     any         `json:"insert,omitempty"`
	Delete     int         `json:"delete,omitempty"`
	Retain     int         `json:"retain,omitempty"`
	Attributes lib0.Object `json:"attributes,omitempty"`
}

// attrs is an insertion-ordered map of attributes (a JavaScript Map or
// object as yjs uses them).
type attrs struct {
	keys []string
	vals map[string]any
}

func (a *attrs) get(k string) (any, bool) {
	if a.vals == nil {
		return nil, false
	}
	v, ok := a.vals[k]
	return v, ok
}

// getOrNull is `a.get(k) ?? null`.
func (a *attrs) getOrNull(k string) any {
	v, ok := a.get(k)
	if !ok || v == lib0.Undefined {
		return nil
	}
	return v
}

func (a *attrs) set(k string, v any) {
	if a.vals == nil {
		a.vals = make(map[string]any)
	}
	if _, ok := a.vals[k]; !ok {
		a.keys = append(a.keys, k)
	}
	a.vals[k] = v
}

func (a *attrs) del(k string) {
	if _, ok := a.vals[k]; !ok {
		return
	}
	delete(a.vals, k)
	for i, x := range a.keys {
		if x == k {
			a.keys = append(a.keys[:i:i], a.keys[i+1:]...)
			break
		}
	}
}

func (a *attrs) size() int { return len(a.keys) }

func (a *attrs) clone() *attrs {
	c := &attrs{keys: append([]string(nil), a.keys...), vals: make(map[string]any, len(a.vals))}
	for k, v := range a.vals {
		c.vals[k] = v
	}
	return c
}

func (a *attrs) object(skipNull bool) lib0.Object {
	out := make(lib0.Object, 0, len(a.keys))
	for _, k := range a.keys {
		v := a.vals[k]
		if skipNull && v == nil {
			continue
		}
		out = append(out, lib0.Field{Key: k, Value: v})
	}
	return out
}

func attrsFromObject(o lib0.Object) *attrs {
	a := &attrs{}
	for _, f := range o {
		a.set(f.Key, f.Value)
	}
	return a
}

// strictEq is JavaScript's === for Any values: objects and arrays compare by
// identity.
func strictEq(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case lib0.Object:
		y, ok := b.(lib0.Object)
		return ok && sameBacking(reflect.ValueOf(x), reflect.ValueOf(y))
	case []any:
		y, ok := b.([]any)
		return ok && sameBacking(reflect.ValueOf(x), reflect.ValueOf(y))
	case []byte:
		y, ok := b.([]byte)
		return ok && sameBacking(reflect.ValueOf(x), reflect.ValueOf(y))
	}
	if !reflect.TypeOf(a).Comparable() || b == nil || !reflect.TypeOf(b).Comparable() {
		return false
	}
	return a == b
}

func sameBacking(x, y reflect.Value) bool {
	if x.Len() != y.Len() {
		return false
	}
	if x.Len() == 0 {
		return x.IsNil() == y.IsNil()
	}
	return x.Pointer() == y.Pointer()
}

// equalAttrs is yjs' equalAttrs: identical, or two objects with the same
// keys whose values are identical.
func equalAttrs(a, b any) bool {
	if strictEq(a, b) {
		return true
	}
	switch x := a.(type) {
	case lib0.Object:
		y, ok := b.(lib0.Object)
		if !ok || len(x) != len(y) {
			return false
		}
		for _, f := range x {
			v, ok := y.Get(f.Key)
			if !ok || !strictEq(f.Value, v) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !strictEq(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// textPos is a position between two items of a text, with the attributes in
// effect there (yjs ItemTextListPosition).
type textPos struct {
	left, right *Item
	index       int
	attrs       *attrs
}

func (p *textPos) forward() {
	r := p.right
	if cf, ok := r.content.(*contentFormat); ok {
		if !r.Deleted() {
			updateCurrentAttributes(p.attrs, cf)
		}
	} else if !r.Deleted() {
		p.index += int(r.Length)
	}
	p.left = r
	p.right = r.Right
}

func updateCurrentAttributes(a *attrs, f *contentFormat) {
	if f.v == nil {
		a.del(f.key)
	} else {
		a.set(f.key, f.v)
	}
}

func findNextPosition(tx *Txn, p *textPos, count int) (*textPos, error) {
	for p.right != nil && count > 0 {
		r := p.right
		if cf, ok := r.content.(*contentFormat); ok {
			if !r.Deleted() {
				updateCurrentAttributes(p.attrs, cf)
			}
		} else if !r.Deleted() {
			if count < int(r.Length) {
				if _, err := tx.doc.store.getItemCleanStart(tx, ID{r.ID.Client, r.ID.Clock + uint32(count)}); err != nil {
					return nil, err
				}
			}
			p.index += int(r.Length)
			count -= int(r.Length)
		}
		p.left = r
		p.right = r.Right
	}
	return p, nil
}

func findPosition(tx *Txn, t *Type, index int, useMarker bool) (*textPos, error) {
	if useMarker {
		if m := t.markers.find(t, index); m != nil {
			p := &textPos{left: m.p.Left, right: m.p, index: m.index, attrs: &attrs{}}
			return findNextPosition(tx, p, index-m.index)
		}
	}
	return findNextPosition(tx, &textPos{right: t.start, attrs: &attrs{}}, index)
}

func (t *Type) newLocalItem(tx *Txn, left, right *Item, c content) *Item {
	doc := tx.doc
	var origin, rorigin *ID
	if left != nil {
		o := left.lastID()
		origin = &o
	}
	if right != nil {
		r := right.ID
		rorigin = &r
	}
	return newItem(ID{doc.clientID, doc.store.getState(doc.clientID)}, left, origin, right, rorigin, t, nil, c)
}

func insertNegatedAttributes(tx *Txn, t *Type, p *textPos, negated *attrs) error {
	for p.right != nil {
		r := p.right
		if !r.Deleted() {
			cf, ok := r.content.(*contentFormat)
			if !ok {
				break
			}
			nv, ok := negated.get(cf.key)
			if !ok {
				nv = lib0.Undefined // a missing key is undefined, not null
			}
			if !equalAttrs(nv, cf.v) {
				break
			}
			negated.del(cf.key)
		}
		p.forward()
	}
	for _, k := range negated.keys {
		v := negated.vals[k]
		it := t.newLocalItem(tx, p.left, p.right, &contentFormat{k, v})
		if err := it.integrate(tx, 0); err != nil {
			return err
		}
		p.right = it
		p.forward()
	}
	return nil
}

func minimizeAttributeChanges(p *textPos, a *attrs) {
	for p.right != nil {
		r := p.right
		if !r.Deleted() {
			cf, ok := r.content.(*contentFormat)
			if !ok || !equalAttrs(a.getOrNull(cf.key), cf.v) {
				break
			}
		}
		p.forward()
	}
}

func insertAttributes(tx *Txn, t *Type, p *textPos, a *attrs) (*attrs, error) {
	negated := &attrs{}
	for _, k := range a.keys {
		v := a.vals[k]
		cur := p.attrs.getOrNull(k)
		if !equalAttrs(cur, v) {
			negated.set(k, cur)
			it := t.newLocalItem(tx, p.left, p.right, &contentFormat{k, v})
			if err := it.integrate(tx, 0); err != nil {
				return nil, err
			}
			p.right = it
			p.forward()
		}
	}
	return negated, nil
}

func insertText(tx *Txn, t *Type, p *textPos, c content, a *attrs) error {
	for _, k := range p.attrs.keys {
		if v, ok := a.get(k); !ok || v == lib0.Undefined {
			a.set(k, nil)
		}
	}
	minimizeAttributeChanges(p, a)
	negated, err := insertAttributes(tx, t, p, a)
	if err != nil {
		return err
	}
	if t.markers != nil {
		t.markers.updateChanges(p.index, int(c.length()))
	}
	it := t.newLocalItem(tx, p.left, p.right, c)
	if err := it.integrate(tx, 0); err != nil {
		return err
	}
	p.right = it
	p.forward()
	return insertNegatedAttributes(tx, t, p, negated)
}

func formatText(tx *Txn, t *Type, p *textPos, length int, a *attrs) error {
	minimizeAttributeChanges(p, a)
	negated, err := insertAttributes(tx, t, p, a)
	if err != nil {
		return err
	}
loop:
	for p.right != nil && (length > 0 || (negated.size() > 0 && (p.right.Deleted() || isFormat(p.right)))) {
		r := p.right
		if !r.Deleted() {
			if cf, ok := r.content.(*contentFormat); ok {
				if av, has := a.get(cf.key); has && av != lib0.Undefined {
					if equalAttrs(av, cf.v) {
						negated.del(cf.key)
					} else {
						if length == 0 {
							break loop
						}
						negated.set(cf.key, cf.v)
					}
					r.delete(tx)
				} else {
					p.attrs.set(cf.key, cf.v)
				}
			} else {
				if length < int(r.Length) {
					if _, err := tx.doc.store.getItemCleanStart(tx, ID{r.ID.Client, r.ID.Clock + uint32(length)}); err != nil {
						return err
					}
				}
				length -= int(r.Length)
			}
		}
		p.forward()
	}
	if length > 0 {
		it := t.newLocalItem(tx, p.left, p.right, newContentString(strings.Repeat("\n", length)))
		if err := it.integrate(tx, 0); err != nil {
			return err
		}
		p.right = it
		p.forward()
	}
	return insertNegatedAttributes(tx, t, p, negated)
}

func isFormat(it *Item) bool {
	_, ok := it.content.(*contentFormat)
	return ok
}

func cleanupFormattingGap(tx *Txn, start, curr *Item, startAttrs, currAttrs *attrs) int {
	end := start
	endFormats := map[string]*contentFormat{}
	for end != nil && (!end.countable() || end.Deleted()) {
		if !end.Deleted() {
			if cf, ok := end.content.(*contentFormat); ok {
				endFormats[cf.key] = cf
			}
		}
		end = end.Right
	}
	cleanups := 0
	reachedCurr := false
	for start != end {
		if curr == start {
			reachedCurr = true
		}
		if !start.Deleted() {
			if cf, ok := start.content.(*contentFormat); ok {
				startVal := startAttrs.getOrNull(cf.key)
				if endFormats[cf.key] != cf || strictEq(startVal, cf.v) {
					start.delete(tx)
					cleanups++
					if !reachedCurr && strictEq(currAttrs.getOrNull(cf.key), cf.v) && !strictEq(startVal, cf.v) {
						if startVal == nil {
							currAttrs.del(cf.key)
						} else {
							currAttrs.set(cf.key, startVal)
						}
					}
				}
				if !reachedCurr && !start.Deleted() {
					updateCurrentAttributes(currAttrs, cf)
				}
			}
		}
		start = start.Right
	}
	return cleanups
}

func cleanupContextlessFormattingGap(tx *Txn, item *Item) {
	for item != nil && item.Right != nil && (item.Right.Deleted() || !item.Right.countable()) {
		item = item.Right
	}
	seen := map[string]bool{}
	for item != nil && (item.Deleted() || !item.countable()) {
		if !item.Deleted() {
			if cf, ok := item.content.(*contentFormat); ok {
				if seen[cf.key] {
					item.delete(tx)
				} else {
					seen[cf.key] = true
				}
			}
		}
		item = item.Left
	}
}

// cleanupFormatting removes redundant format items of t and returns how
// many it deleted.
func (t *Type) cleanupFormatting() int {
	res := 0
	t.doc.Transact(nil, func(tx *Txn) {
		start := t.start
		end := t.start
		startAttrs := &attrs{}
		currAttrs := startAttrs.clone()
		for end != nil {
			if !end.Deleted() {
				if cf, ok := end.content.(*contentFormat); ok {
					updateCurrentAttributes(currAttrs, cf)
				} else {
					res += cleanupFormattingGap(tx, start, end, startAttrs, currAttrs)
					startAttrs = currAttrs.clone()
					start = end
				}
			}
			end = end.Right
		}
	})
	return res
}

// cleanupTextAfterTransaction removes formatting made redundant by a remote
// transaction (yjs cleanupYTextAfterTransaction).
func cleanupTextAfterTransaction(tx *Txn) {
	doc := tx.doc
	full := map[*Type]bool{}
	var order []*Type
	addFull := func(t *Type) {
		if !full[t] {
			full[t] = true
			order = append(order, t)
		}
	}
	for _, cc := range tx.changedClients() {
		client, before := cc.client, cc.clock
		after := doc.store.getState(client)
		doc.store.iterateRange(tx, client, before, after-before, func(it *Item) {
			if !it.Deleted() && !it.isGC() {
				if _, ok := it.content.(*contentFormat); ok {
					addFull(it.parent)
				}
			}
		})
	}
	doc.Transact(nil, func(t *Txn) {
		iterateDeleted(tx, tx.deleteSet, func(it *Item) {
			if it.isGC() || it.parent == nil || !it.parent.hasFormatting || full[it.parent] {
				return
			}
			if _, ok := it.content.(*contentFormat); ok {
				addFull(it.parent)
			} else {
				cleanupContextlessFormattingGap(t, it)
			}
		})
		for _, yt := range order {
			yt.cleanupFormatting()
		}
	})
}

// iterateDeleted calls f for every struct inside the ranges of ds.
func iterateDeleted(tx *Txn, ds DeleteSet, f func(*Item)) {
	for _, client := range tx.dsOrder {
		if _, ok := tx.doc.store.clients[client]; !ok {
			continue
		}
		for _, d := range ds[client] {
			tx.doc.store.iterateRange(tx, client, d.Clock, d.Len, f)
		}
	}
}

func deleteText(tx *Txn, p *textPos, length int) error {
	startLength := length
	startAttrs := p.attrs.clone()
	start := p.right
	for length > 0 && p.right != nil {
		r := p.right
		if !r.Deleted() {
			switch r.content.(type) {
			case *contentType, *contentEmbed, *contentString:
				if length < int(r.Length) {
					if _, err := tx.doc.store.getItemCleanStart(tx, ID{r.ID.Client, r.ID.Clock + uint32(length)}); err != nil {
						return err
					}
				}
				length -= int(r.Length)
				r.delete(tx)
			}
		}
		p.forward()
	}
	if start != nil {
		cleanupFormattingGap(tx, start, p.right, startAttrs, p.attrs)
	}
	var parent *Type
	if p.left != nil {
		parent = p.left.parent
	} else if p.right != nil {
		parent = p.right.parent
	}
	if parent != nil && parent.markers != nil {
		parent.markers.updateChanges(p.index, -startLength+length)
	}
	return nil
}

func (x *Text) doc() (*Doc, error) {
	if x.t.doc == nil {
		return nil, errDetached
	}
	return x.t.doc, nil
}

func toAttrs(a map[string]any) (*attrs, error) {
	if a == nil {
		return nil, nil
	}
	n, err := normalizeAny(a)
	if err != nil {
		return nil, err
	}
	return attrsFromObject(n.(lib0.Object)), nil
}

// Insert inserts s at index. With attrs nil the text takes the formatting
// in effect at index; otherwise exactly attrs (a nil value removes an
// attribute).
func (x *Text) Insert(tx *Txn, index int, s string, attributes map[string]any) error {
	a, err := toAttrs(attributes)
	if err != nil {
		return err
	}
	return x.insert(tx, index, s, a)
}

// InsertWithAttributes is Insert with attributes in a given order.
func (x *Text) InsertWithAttributes(tx *Txn, index int, s string, attributes lib0.Object) error {
	return x.insert(tx, index, s, attrsFromObject(attributes))
}

func (x *Text) insert(tx *Txn, index int, s string, a *attrs) error {
	if s == "" {
		return nil
	}
	d, err := x.doc()
	if err != nil {
		return err
	}
	if index < 0 || index > x.t.length {
		return ErrOutOfRange
	}
	return d.withTxn(tx, func(tx *Txn) error {
		p, err := findPosition(tx, x.t, index, a == nil)
		if err != nil {
			return err
		}
		if a == nil {
			a = p.attrs.clone()
		}
		return insertText(tx, x.t, p, newContentString(s), a)
	})
}

// InsertEmbed inserts an embed (an Any value) or a shared type at index.
func (x *Text) InsertEmbed(tx *Txn, index int, embed any, attributes map[string]any) error {
	d, err := x.doc()
	if err != nil {
		return err
	}
	if index < 0 || index > x.t.length {
		return ErrOutOfRange
	}
	a, err := toAttrs(attributes)
	if err != nil {
		return err
	}
	var c content
	if nt, ok := asType(embed); ok {
		if nt.doc != nil || nt.item != nil {
			return ErrInvalidValue
		}
		c = &contentType{nt}
	} else {
		v, err := normalizeAny(embed)
		if err != nil {
			return err
		}
		c = &contentEmbed{v}
	}
	return d.withTxn(tx, func(tx *Txn) error {
		p, err := findPosition(tx, x.t, index, a == nil)
		if err != nil {
			return err
		}
		if a == nil {
			a = &attrs{}
		}
		return insertText(tx, x.t, p, c, a)
	})
}

// Delete removes length units starting at index.
func (x *Text) Delete(tx *Txn, index, length int) error {
	if length == 0 {
		return nil
	}
	d, err := x.doc()
	if err != nil {
		return err
	}
	if index < 0 || length < 0 || index+length > x.t.length {
		return ErrOutOfRange
	}
	return d.withTxn(tx, func(tx *Txn) error {
		p, err := findPosition(tx, x.t, index, true)
		if err != nil {
			return err
		}
		return deleteText(tx, p, length)
	})
}

// Format applies attributes to [index, index+length); a nil value removes
// an attribute.
func (x *Text) Format(tx *Txn, index, length int, attributes map[string]any) error {
	if length == 0 {
		return nil
	}
	d, err := x.doc()
	if err != nil {
		return err
	}
	a, err := toAttrs(attributes)
	if err != nil {
		return err
	}
	if a == nil {
		a = &attrs{}
	}
	return d.withTxn(tx, func(tx *Txn) error {
		p, err := findPosition(tx, x.t, index, false)
		if err != nil {
			return err
		}
		if p.right == nil {
			return nil
		}
		return formatText(tx, x.t, p, length, a)
	})
}

// ApplyDelta applies a Quill delta.
func (x *Text) ApplyDelta(tx *Txn, delta []Delta) error {
	d, err := x.doc()
	if err != nil {
		return err
	}
	return d.withTxn(tx, func(tx *Txn) error {
		p := &textPos{right: x.t.start, attrs: &attrs{}}
		for _, op := range delta {
			switch {
			case op.Insert != nil:
				a := attrsFromObject(op.Attributes)
				if s, ok := op.Insert.(string); ok {
					if s == "" {
						continue
					}
					if err := insertText(tx, x.t, p, newContentString(s), a); err != nil {
						return err
					}
					continue
				}
				var c content
				if nt, ok := asType(op.Insert); ok {
					c = &contentType{nt}
				} else {
					v, err := normalizeAny(op.Insert)
					if err != nil {
						return err
					}
					c = &contentEmbed{v}
				}
				if err := insertText(tx, x.t, p, c, a); err != nil {
					return err
				}
			case op.Retain > 0:
				if err := formatText(tx, x.t, p, op.Retain, attrsFromObject(op.Attributes)); err != nil {
					return err
				}
			case op.Delete > 0:
				if err := deleteText(tx, p, op.Delete); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// String returns the text without formatting or embeds.
func (x *Text) String() string { return x.t.textString() }

func (t *Type) textString() string {
	var b strings.Builder
	for n := t.start; n != nil; n = n.Right {
		if n.visible() {
			if cs, ok := n.content.(*contentString); ok {
				b.Write(cs.s)
			}
		}
	}
	return b.String()
}

// ToDelta returns the text as a Quill delta.
func (x *Text) ToDelta() []Delta { return x.t.toDelta(nil) }

func (t *Type) toDelta(visible func(*Item) bool) []Delta {
	if visible == nil {
		visible = func(it *Item) bool { return !it.Deleted() }
	}
	ops := []Delta{}
	cur := &attrs{}
	var str strings.Builder
	pack := func() {
		if str.Len() > 0 {
			op := Delta{Insert: str.String()}
			if cur.size() > 0 {
				op.Attributes = cur.object(false)
			}
			ops = append(ops, op)
			str.Reset()
		}
	}
	for n := t.start; n != nil; n = n.Right {
		if !visible(n) {
			continue
		}
		switch c := n.content.(type) {
		case *contentString:
			str.Write(c.s)
		case *contentType, *contentEmbed:
			pack()
			op := Delta{Insert: c.values()[0]}
			if cur.size() > 0 {
				op.Attributes = cur.object(false)
			}
			ops = append(ops, op)
		case *contentFormat:
			pack()
			updateCurrentAttributes(cur, c)
		}
	}
	pack()
	return ops
}

// SetAttribute sets a text-level attribute (stored in the type's map).
func (x *Text) SetAttribute(tx *Txn, name string, v any) error {
	d, err := x.doc()
	if err != nil {
		return err
	}
	return d.withTxn(tx, func(tx *Txn) error { return x.t.mapSet(tx, name, v) })
}

// GetAttribute returns a text-level attribute.
func (x *Text) GetAttribute(name string) (any, bool) { return x.t.mapGet(name) }
