package index

import "math/bits"

// trie is a persistent map from uint32 keys to values of type V: a radix
// trie with 32-way nodes (5 key bits per level), its height growing with the
// largest key. Inner nodes are dense arrays of 32 children; leaves are
// sparse (a presence mask and the present values, packed), so an absent key
// costs nothing. The zero trie is empty and ready to use; a trie is a value
// (root and height), so copying it is O(1) and the copy shares every node.
//
// Updates copy the path from the root to the changed slot (path copying),
// except for nodes that already belong to the current generation: a writer
// takes a fresh generation number per batch, so a node is copied at most
// once per batch and later updates in the same batch change it in place.
// Nodes of older generations are never written to, which is what makes a
// published trie immutable and safe for any number of concurrent readers.
// Cost of set or del: O(height) node copies (32 pointers per inner node, the
// present values of the leaf); height ≤ 7 for uint32 keys (4 for keys below
// 2^20, 5 below 2^25).
type trie[V any] struct {
	root  *trieNode[V]
	shift uint // key shift of the root level; 0 when the root is a leaf
}

const (
	trieBits = 5
	trieFan  = 1 << trieBits
	trieMask = trieFan - 1
)

// trieNode is an inner node (kids != nil, trieFan slots) or a leaf (mask
// says which of the trieFan slots are present; vals holds them in order).
type trieNode[V any] struct {
	gen  uint64
	kids []*trieNode[V]
	mask uint32
	vals []V
}

func newTrieNode[V any](gen uint64, leaf bool) *trieNode[V] {
	n := &trieNode[V]{gen: gen}
	if !leaf {
		n.kids = make([]*trieNode[V], trieFan)
	}
	return n
}

// writable returns n itself if it belongs to generation gen, else a copy
// that does (with fresh backing arrays, so it may be changed in place).
func (n *trieNode[V]) writable(gen uint64) *trieNode[V] {
	if n.gen == gen {
		return n
	}
	c := &trieNode[V]{gen: gen, mask: n.mask}
	if n.kids != nil {
		c.kids = make([]*trieNode[V], trieFan)
		copy(c.kids, n.kids)
	} else {
		c.vals = make([]V, len(n.vals), len(n.vals)+1)
		copy(c.vals, n.vals)
	}
	return c
}

// slot returns the index in vals of slot i of a leaf, and whether present.
func (n *trieNode[V]) slot(i uint32) (int, bool) {
	bit := uint32(1) << i
	return bits.OnesCount32(n.mask & (bit - 1)), n.mask&bit != 0
}

// covers reports whether key k fits under the current root.
func (t *trie[V]) covers(k uint32) bool {
	return uint64(k)>>(t.shift+trieBits) == 0
}

// leaf returns the leaf that would hold k, or nil.
func (t *trie[V]) leaf(k uint32) *trieNode[V] {
	n := t.root
	if n == nil || !t.covers(k) {
		return nil
	}
	for sh := t.shift; sh > 0 && n != nil; sh -= trieBits {
		n = n.kids[(k>>sh)&trieMask]
	}
	return n
}

// get returns the value at k, and whether it is present.
func (t *trie[V]) lookup(k uint32) (v V, ok bool) {
	n := t.leaf(k)
	if n == nil {
		return v, false
	}
	i, ok := n.slot(k & trieMask)
	if !ok {
		return v, false
	}
	return n.vals[i], true
}

// get returns the value at k, or the zero value.
func (t *trie[V]) get(k uint32) V {
	v, _ := t.lookup(k)
	return v
}

// writableLeaf returns the leaf for k, copying the path from the root as
// needed for generation gen and creating missing nodes.
func (t *trie[V]) writableLeaf(gen uint64, k uint32) *trieNode[V] {
	if t.root == nil {
		t.root, t.shift = newTrieNode[V](gen, true), 0
	}
	for !t.covers(k) {
		r := newTrieNode[V](gen, false)
		r.kids[0] = t.root
		t.root, t.shift = r, t.shift+trieBits
	}
	t.root = t.root.writable(gen)
	n := t.root
	for sh := t.shift; sh > 0; sh -= trieBits {
		i := (k >> sh) & trieMask
		c := n.kids[i]
		if c == nil {
			c = newTrieNode[V](gen, sh == trieBits)
		} else {
			c = c.writable(gen)
		}
		n.kids[i] = c
		n = c
	}
	return n
}

// set stores v at k, copying nodes not owned by generation gen.
func (t *trie[V]) set(gen uint64, k uint32, v V) {
	n := t.writableLeaf(gen, k)
	i, ok := n.slot(k & trieMask)
	if ok {
		n.vals[i] = v
		return
	}
	n.mask |= 1 << (k & trieMask)
	var zero V
	n.vals = append(n.vals, zero)
	copy(n.vals[i+1:], n.vals[i:])
	n.vals[i] = v
}

// del removes k, if present, copying nodes not owned by generation gen.
// Emptied nodes are kept.
func (t *trie[V]) del(gen uint64, k uint32) {
	if _, ok := t.lookup(k); !ok {
		return
	}
	n := t.writableLeaf(gen, k)
	i, _ := n.slot(k & trieMask)
	n.mask &^= 1 << (k & trieMask)
	copy(n.vals[i:], n.vals[i+1:])
	var zero V
	n.vals[len(n.vals)-1] = zero
	n.vals = n.vals[:len(n.vals)-1]
}

// ascend calls fn for every present key in [lo, hi] in ascending order,
// until fn returns false. Absent subtrees are skipped.
func (t *trie[V]) ascend(lo, hi uint32, fn func(k uint32, v V) bool) {
	if t.root == nil || lo > hi {
		return
	}
	t.root.ascend(t.shift, 0, lo, hi, fn)
}

func (n *trieNode[V]) ascend(shift uint, base uint64, lo, hi uint32, fn func(uint32, V) bool) bool {
	if n.kids == nil {
		for m, j := n.mask, 0; m != 0; m, j = m&(m-1), j+1 {
			k := base + uint64(bits.TrailingZeros32(m))
			if k > uint64(hi) {
				return false
			}
			if k >= uint64(lo) && !fn(uint32(k), n.vals[j]) {
				return false
			}
		}
		return true
	}
	span := uint64(1) << shift // keys under one child
	for i := uint64(0); i < trieFan; i++ {
		first := base + i*span
		if first+span-1 < uint64(lo) {
			continue
		}
		if first > uint64(hi) {
			return false
		}
		if c := n.kids[i]; c != nil {
			if !c.ascend(shift-trieBits, first, lo, hi, fn) {
				return false
			}
		}
	}
	return true
}

// each calls fn for every present key in ascending order.
func (t *trie[V]) each(fn func(k uint32, v V) bool) {
	t.ascend(0, ^uint32(0), fn)
}

// len returns the number of present keys; O(nodes).
func (t *trie[V]) len() int {
	n := 0
	t.walk(func(nd *trieNode[V]) { n += len(nd.vals) })
	return n
}

// walk calls fn for every node.
func (t *trie[V]) walk(fn func(*trieNode[V])) {
	var rec func(n *trieNode[V])
	rec = func(n *trieNode[V]) {
		if n == nil {
			return
		}
		fn(n)
		for _, c := range n.kids {
			rec(c)
		}
	}
	rec(t.root)
}
