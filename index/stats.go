package index

import (
	"unsafe"

	"github.com/RoaringBitmap/roaring/v2"
)

// Stats describes the size of an index. Byte counts are estimates of heap
// memory: roaring's GetSizeInBytes plus a fixed overhead per bitmap, trie
// nodes, and dictionary strings and map slots. Shared structure (between
// snapshots, or the strings shared by the two directions of a dictionary)
// is counted once per snapshot.
type Stats struct {
	Rows     int    // rows allocated (block ids seen)
	Live     uint64 // live blocks
	Deleted  uint64 // deleted blocks
	Flavours int    // flavours with live blocks
	Creators int    // creators with live blocks
	// Postings has one entry per posting family, in this order: live,
	// deleted, roots, flavour, creator, children, backlinks, links,
	// created hour, created day, updated hour, updated day.
	Postings []PostingStats
	IDBytes  uint64 // block id dictionary, flavour and creator names
	RowBytes uint64 // the writer's per-row state (Index.Stats only)
	Bytes    uint64 // total of all the above
}

// PostingStats describes one family of postings.
type PostingStats struct {
	Name        string
	Keys        int    // non-empty postings (1 for live, deleted, roots)
	Cardinality uint64 // sum of the postings' cardinalities (links: targets)
	Bytes       uint64 // estimated memory, including trie nodes
}

// bitmapOverhead approximates a roaring.Bitmap's heap cost beyond
// GetSizeInBytes: the Bitmap struct, slice headers and container structs.
const bitmapOverhead = 96

// Stats returns sizes and cardinalities of the snapshot; O(number of
// postings).
func (s *Snapshot) Stats() Stats {
	st := Stats{
		Rows:     s.Rows(),
		Live:     s.live.GetCardinality(),
		Deleted:  s.deleted.GetCardinality(),
		Flavours: len(s.Flavours()),
		Creators: len(s.Creators()),
	}
	single := func(name string, bm *roaring.Bitmap) PostingStats {
		return PostingStats{Name: name, Keys: 1, Cardinality: bm.GetCardinality(), Bytes: bm.GetSizeInBytes() + bitmapOverhead}
	}
	st.Postings = append(st.Postings, single("live", s.live), single("deleted", s.deleted), single("roots", s.roots))
	family := func(name string, t *trie[rowSet]) PostingStats {
		p := PostingStats{Name: name, Bytes: trieBytes(t)}
		t.each(func(_ uint32, rs rowSet) bool {
			p.Keys++
			p.Cardinality += rs.card()
			p.Bytes += rs.bytes()
			return true
		})
		return p
	}
	st.Postings = append(st.Postings,
		family("flavour", &s.flavour), family("creator", &s.creator),
		family("children", &s.children), family("backlinks", &s.backlinks))
	links := PostingStats{Name: "links", Bytes: trieBytes(&s.links)}
	s.links.each(func(_ uint32, v []RowID) bool {
		links.Keys++
		links.Cardinality += uint64(len(v))
		links.Bytes += uint64(cap(v)) * 4
		return true
	})
	st.Postings = append(st.Postings, links,
		family("created hour", &s.createdHour), family("created day", &s.createdDay),
		family("updated hour", &s.updatedHour), family("updated day", &s.updatedDay))
	st.IDBytes = s.ids.bytes(s.idv) + s.flavours.bytes(s.flv) + s.creators.bytes(s.crv)
	st.Bytes = st.IDBytes
	for _, p := range st.Postings {
		st.Bytes += p.Bytes
	}
	return st
}

// Stats is Snapshot().Stats() plus the writer's per-row state.
func (ix *Index) Stats() Stats {
	ix.init()
	ix.mu.Lock()
	st := ix.cur.Load().Stats() // the writer's own view: no need to seal it
	st.RowBytes = uint64(len(ix.mu.rows.chunks)) * rowChunk * uint64(unsafe.Sizeof(rowState{}))
	ix.mu.Unlock()
	st.Bytes += st.RowBytes
	return st
}

// trieBytes estimates the memory of a trie's nodes (not of what values
// point to).
func trieBytes[V any](t *trie[V]) uint64 {
	var v V
	node, slot := uint64(unsafe.Sizeof(trieNode[V]{})), uint64(unsafe.Sizeof(v))
	var b uint64
	t.walk(func(n *trieNode[V]) {
		b += node + uint64(cap(n.kids))*8 + uint64(cap(n.vals))*slot
	})
	return b
}
