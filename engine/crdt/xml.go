package crdt

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"octobase/engine/lib0"
)

// XmlFragment is a shared list of XML nodes (yjs Y.XmlFragment).
type XmlFragment struct{ t *Type }

// XmlElement is an XML element: a node name, attributes and children.
type XmlElement struct{ t *Type }

// XmlText is rich text inside XML; it has every Text method.
type XmlText struct{ Text }

// XmlHook is a named map embedded in XML (yjs Y.XmlHook).
type XmlHook struct{ t *Type }

// NewXmlFragment returns a detached fragment.
func NewXmlFragment() *XmlFragment { return &XmlFragment{newType(KindXmlFragment)} }

// NewXmlElement returns a detached element named nodeName.
func NewXmlElement(nodeName string) *XmlElement {
	t := newType(KindXmlElement)
	t.name = nodeName
	return &XmlElement{t}
}

// NewXmlText returns a detached XML text.
func NewXmlText() *XmlText { return &XmlText{Text{newType(KindXmlText)}} }

// NewXmlHook returns a detached hook named name.
func NewXmlHook(name string) *XmlHook {
	t := newType(KindXmlHook)
	t.name = name
	return &XmlHook{t}
}

// Type returns the underlying shared type.
func (x *XmlFragment) Type() *Type { return x.t }

// Type returns the underlying shared type.
func (x *XmlElement) Type() *Type { return x.t }

// Type returns the underlying shared type.
func (x *XmlHook) Type() *Type { return x.t }

// NodeName returns the element's name.
func (x *XmlElement) NodeName() string { return x.t.name }

// HookName returns the hook's name.
func (x *XmlHook) HookName() string { return x.t.name }

func xmlInsert(t *Type, tx *Txn, index int, nodes []any) error {
	if t.doc == nil {
		return errDetached
	}
	for _, n := range nodes {
		switch n.(type) {
		case *XmlElement, *XmlText, *XmlHook:
		default:
			return ErrInvalidValue
		}
	}
	return t.doc.withTxn(tx, func(tx *Txn) error { return t.listInsert(tx, index, nodes) })
}

func xmlDelete(t *Type, tx *Txn, index, length int) error {
	if t.doc == nil {
		return errDetached
	}
	return t.doc.withTxn(tx, func(tx *Txn) error { return t.listDelete(tx, index, length) })
}

// Insert inserts nodes (*XmlElement, *XmlText, *XmlHook) at index.
func (x *XmlFragment) Insert(tx *Txn, index int, nodes ...any) error {
	return xmlInsert(x.t, tx, index, nodes)
}

// Delete removes length nodes from index.
func (x *XmlFragment) Delete(tx *Txn, index, length int) error {
	return xmlDelete(x.t, tx, index, length)
}

// Len returns the number of child nodes.
func (x *XmlFragment) Len() int { return x.t.length }

// Get returns the child at index.
func (x *XmlFragment) Get(index int) (any, bool) { return x.t.listGet(index) }

// Children returns the child nodes.
func (x *XmlFragment) Children() []any { return x.t.listValues() }

// String serializes the children like yjs' toString.
func (x *XmlFragment) String() string { return xmlChildren(x.t) }

// Insert inserts child nodes at index.
func (x *XmlElement) Insert(tx *Txn, index int, nodes ...any) error {
	return xmlInsert(x.t, tx, index, nodes)
}

// Delete removes length children from index.
func (x *XmlElement) Delete(tx *Txn, index, length int) error {
	return xmlDelete(x.t, tx, index, length)
}

// Len returns the number of child nodes.
func (x *XmlElement) Len() int { return x.t.length }

// Get returns the child at index.
func (x *XmlElement) Get(index int) (any, bool) { return x.t.listGet(index) }

// Children returns the child nodes.
func (x *XmlElement) Children() []any { return x.t.listValues() }

// SetAttribute sets an attribute (yjs stores any value; strings are usual).
func (x *XmlElement) SetAttribute(tx *Txn, name string, v any) error {
	if x.t.doc == nil {
		return errDetached
	}
	return x.t.doc.withTxn(tx, func(tx *Txn) error { return x.t.mapSet(tx, name, v) })
}

// RemoveAttribute deletes an attribute.
func (x *XmlElement) RemoveAttribute(tx *Txn, name string) {
	if x.t.doc == nil {
		return
	}
	_ = x.t.doc.withTxn(tx, func(tx *Txn) error { x.t.mapDelete(tx, name); return nil })
}

// GetAttribute returns an attribute.
func (x *XmlElement) GetAttribute(name string) (any, bool) { return x.t.mapGet(name) }

// Attributes returns all attributes.
func (x *XmlElement) Attributes() map[string]any {
	out := map[string]any{}
	for _, k := range x.t.mapKeys() {
		out[k], _ = x.t.mapGet(k)
	}
	return out
}

// String serializes the element like yjs: attributes sorted by name.
func (x *XmlElement) String() string {
	keys := x.t.mapKeys()
	sort.Strings(keys)
	var b strings.Builder
	name := strings.ToLower(x.t.name)
	b.WriteString("<" + name)
	for _, k := range keys {
		v, _ := x.t.mapGet(k)
		b.WriteString(" " + k + `="` + jsString(v) + `"`)
	}
	b.WriteString(">")
	b.WriteString(xmlChildren(x.t))
	b.WriteString("</" + name + ">")
	return b.String()
}

func xmlChildren(t *Type) string {
	var b strings.Builder
	for _, v := range t.listValues() {
		switch n := v.(type) {
		case *XmlElement:
			b.WriteString(n.String())
		case *XmlText:
			b.WriteString(n.String())
		case *XmlFragment:
			b.WriteString(n.String())
		default:
			b.WriteString(jsString(v))
		}
	}
	return b.String()
}

// String serializes the text with its formatting as nested tags.
func (x *XmlText) String() string {
	var b strings.Builder
	for _, d := range x.t.toDelta(nil) {
		type node struct {
			name  string
			attrs [][2]string
		}
		var nodes []node
		for _, f := range d.Attributes {
			n := node{name: f.Key, attrs: jsForIn(f.Value)}
			slices.SortFunc(n.attrs, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
			nodes = append(nodes, n)
		}
		slices.SortFunc(nodes, func(a, b node) int { return strings.Compare(a.name, b.name) })
		for _, n := range nodes {
			b.WriteString("<" + n.name)
			for _, a := range n.attrs {
				b.WriteString(" " + a[0] + `="` + a[1] + `"`)
			}
			b.WriteString(">")
		}
		b.WriteString(jsString(d.Insert))
		for i := len(nodes) - 1; i >= 0; i-- {
			b.WriteString("</" + nodes[i].name + ">")
		}
	}
	return b.String()
}

// ToJSON returns the hook's entries.
func (x *XmlHook) ToJSON() lib0.Object { return (&Map{x.t}).ToJSON() }

// jsForIn lists the (key, String(value)) pairs a JavaScript for...in loop
// visits: an object's keys, an array's or a string's indexes.
func jsForIn(v any) [][2]string {
	var out [][2]string
	switch x := v.(type) {
	case lib0.Object:
		for _, a := range x {
			out = append(out, [2]string{a.Key, jsString(a.Value)})
		}
	case []any:
		for i, e := range x {
			out = append(out, [2]string{strconv.Itoa(i), jsString(e)})
		}
	case string:
		i := 0
		for _, r := range x {
			if r >= 0x10000 {
				// The two halves of a pair cannot stand alone in Go.
				out = append(out, [2]string{strconv.Itoa(i), "\uFFFD"}, [2]string{strconv.Itoa(i + 1), "\uFFFD"})
				i += 2
				continue
			}
			out = append(out, [2]string{strconv.Itoa(i), string(r)})
			i++
		}
	}
	return out
}

// jsString is JavaScript's String(v) for Any values.
func jsString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "null"
	case lib0.UndefinedType:
		return "undefined"
	case bool:
		if x {
			return "true"
		}
		return "false"
	case float64:
		s, _ := lib0.StringifyJSON(x)
		if s == "null" { // NaN and infinities
			switch {
			case x != x:
				return "NaN"
			case x > 0:
				return "Infinity"
			default:
				return "-Infinity"
			}
		}
		return s
	case lib0.Object:
		return "[object Object]"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if e == nil || e == lib0.Undefined {
				continue
			}
			parts[i] = jsString(e)
		}
		return strings.Join(parts, ",")
	case *Map:
		return "[object Object]"
	case *Text:
		return x.String()
	case *XmlElement:
		return x.String()
	case *XmlText:
		return x.String()
	}
	return ""
}
