package engine

import (
	"maps"
	"slices"
	"strings"

	"octobase/engine/crdt"
	"octobase/engine/lib0"
)

// BlockID identifies a block within a space: its key in the space's root
// map.
type BlockID string

// Root map names and block keys of the block model (see DESIGN.md and
// docs/data-model.md). They are OctoBase's layout; do not change them.
const (
	spacePrefix   = "space:"
	DefaultSpace  = "blocks"        // the space of Workspace.View and Blocks by default
	metaRoot      = "space:meta"    // workspace metadata
	updatedRoot   = "space:updated" // block id → last update time (ms)
	keyID         = "sys:id"
	keyFlavour    = "sys:flavour"
	keyChildren   = "sys:children"
	keyParent     = "sys:parent"
	keyCreated    = "sys:created"
	keyCreator    = "sys:creator"
	propPrefix    = "prop:"
	refKey        = "$ref"
	referenceAttr = "reference"
)

// BlockView is a block as the materialized views hold it: plain values,
// detached from the document. Slices and maps are the caller's copies,
// except the values inside Props, which are shared and must not be
// modified.
type BlockView struct {
	ID      BlockID
	Space   string // space id ("blocks" for the default space)
	Flavour string // sys:flavour, e.g. "affine:paragraph"
	// Parent is sys:parent ("" for a block without one).
	Parent BlockID
	// Children is sys:children in order (ids that are not strings are
	// skipped).
	Children []BlockID
	// Created is sys:created and Updated the block's space:updated entry,
	// in milliseconds since the Unix epoch; Updated is Created when the
	// block has no entry.
	Created, Updated int64
	Creator          string // sys:creator
	// Props holds the prop:<name> entries under <name>: JSON values as
	// encoding/json decodes them (nil, bool, float64, string, []any,
	// map[string]any; also []byte and lib0.BigInt), nested Y.Map and
	// Y.Array values as their JSON, and rich text (Y.Text) as a RichText.
	Props map[string]any
}

// RichText is the value of a rich-text property: its plain text and its
// Quill delta (formatting attributes, embeds). Passed to Blocks.Create or
// Blocks.SetProp it creates a Y.Text holding Delta, or Text when Delta is
// empty.
type RichText struct {
	Text  string
	Delta []crdt.Delta
}

// block is the materialized state of one block. Blocks in the views are
// immutable: an update builds a new block (copy-on-write), so readers may
// hold one without a lock.
type block struct {
	id       BlockID
	flavour  string
	parent   BlockID
	children []BlockID
	created  int64
	creator  string
	props    map[string]any
	links    []BlockID // sorted, distinct targets of $ref values and reference attributes
}

// readBlock materializes the block id from its Y.Map.
func readBlock(id BlockID, m *crdt.Map) *block {
	b := &block{id: id, props: map[string]any{}}
	for _, k := range m.Keys() {
		b.readField(k, m)
	}
	b.links = findLinks(b.props)
	return b
}

// patch returns a copy of b with the given keys of m re-read.
func (b *block) patch(m *crdt.Map, keys map[string]struct{}) *block {
	nb := *b
	nb.props = maps.Clone(b.props)
	props := false
	for k := range keys {
		nb.readField(k, m)
		props = props || strings.HasPrefix(k, propPrefix)
	}
	if props {
		nb.links = findLinks(nb.props)
	}
	return &nb
}

// readField sets the field of b stored under key in m (or clears it).
func (b *block) readField(key string, m *crdt.Map) {
	v, ok := m.Get(key)
	switch key {
	case keyFlavour:
		b.flavour, _ = v.(string)
	case keyParent:
		s, _ := v.(string)
		b.parent = BlockID(s)
	case keyCreator:
		b.creator, _ = v.(string)
	case keyCreated:
		b.created = toMillis(v)
	case keyChildren:
		b.children = readChildren(v)
	default:
		name, isProp := strings.CutPrefix(key, propPrefix)
		if !isProp {
			return // sys:id, sys:version and unknown keys are not materialized
		}
		if !ok {
			delete(b.props, name)
		} else {
			b.props[name] = propValue(v)
		}
	}
}

func toMillis(v any) int64 {
	switch x := v.(type) {
	case float64:
		return int64(x)
	case lib0.BigInt:
		return int64(x)
	}
	return 0
}

func readChildren(v any) []BlockID {
	var vals []any
	switch x := v.(type) {
	case *crdt.Array:
		vals = x.Values()
	case []any:
		vals = x
	default:
		return nil
	}
	out := make([]BlockID, 0, len(vals))
	for _, c := range vals {
		if s, ok := c.(string); ok {
			out = append(out, BlockID(s))
		}
	}
	return out
}

// propValue converts a stored prop value into its view value.
func propValue(v any) any {
	switch x := v.(type) {
	case *crdt.Text:
		return RichText{Text: x.String(), Delta: x.ToDelta()}
	case *crdt.XmlText:
		return RichText{Text: x.Text.String(), Delta: x.ToDelta()}
	case *crdt.Map:
		return plain(x.ToJSON())
	case *crdt.Array:
		return plain(x.ToJSON())
	case interface{ String() string }:
		if _, shared := v.(interface{ Type() *crdt.Type }); shared {
			return x.String() // XML fragments and elements
		}
	}
	return plain(v)
}

// plain converts Any values into what encoding/json decodes: objects
// become map[string]any, undefined becomes nil.
func plain(v any) any {
	switch x := v.(type) {
	case lib0.Object:
		m := make(map[string]any, len(x))
		for _, f := range x {
			m[f.Key] = plain(f.Value)
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = plain(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = plain(e)
		}
		return s
	case lib0.UndefinedType:
		return nil
	}
	return v
}

// findLinks returns the sorted distinct targets of the links in props:
// {"$ref": id} objects anywhere in a JSON value, and reference attributes
// (an id, {"$ref": id} or AFFiNE's {"pageId": id}) or $ref embeds in rich
// text.
func findLinks(props map[string]any) []BlockID {
	var out []BlockID
	add := func(id BlockID) { out = append(out, id) }
	for _, v := range props {
		if rt, ok := v.(RichText); ok {
			for _, d := range rt.Delta {
				if ref, ok := d.Attributes.Get(referenceAttr); ok {
					if id, ok := refTarget(plain(ref)); ok {
						add(id)
					}
				}
				if _, isString := d.Insert.(string); !isString && d.Insert != nil {
					scanRefs(plain(d.Insert), add)
				}
			}
			continue
		}
		scanRefs(v, add)
	}
	if len(out) == 0 {
		return nil
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// refTarget reads the target of a reference attribute value.
func refTarget(v any) (BlockID, bool) {
	switch x := v.(type) {
	case string:
		return BlockID(x), x != ""
	case map[string]any:
		for _, k := range []string{refKey, "pageId"} {
			if s, ok := x[k].(string); ok && s != "" {
				return BlockID(s), true
			}
		}
	}
	return "", false
}

// scanRefs calls add for every {"$ref": id} object in a plain JSON value.
func scanRefs(v any, add func(BlockID)) {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x[refKey].(string); ok && s != "" {
			add(BlockID(s))
		}
		for _, e := range x {
			scanRefs(e, add)
		}
	case []any:
		for _, e := range x {
			scanRefs(e, add)
		}
	}
}

// view returns the block as a BlockView.
func (b *block) view(space string, updated int64, hasUpdated bool) BlockView {
	if !hasUpdated {
		updated = b.created
	}
	return BlockView{
		ID:       b.id,
		Space:    space,
		Flavour:  b.flavour,
		Parent:   b.parent,
		Children: slices.Clone(b.children),
		Created:  b.created,
		Updated:  updated,
		Creator:  b.creator,
		Props:    maps.Clone(b.props),
	}
}
