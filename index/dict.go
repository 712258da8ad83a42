package index

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
	"unsafe"
)

// dict is an append-only dictionary between strings and dense uint32
// numbers 0, 1, 2, …: block ids ↔ rows, flavours and creators ↔ term
// numbers. An entry, once added, never changes and is never removed, so one
// dict is shared by the writer and every snapshot: a snapshot sees the
// first n entries, n fixed when it was published, through its own strVec
// view, and ignores the rest.
//
// Layout, for memory (a block id costs ~45 bytes here against ~65 in a Go
// map plus a slice of strings, and the strings are not a million small
// objects for the garbage collector):
//
//   - The strings live in an arena of 64 KiB byte chunks that are only ever
//     appended to; the number → string direction (strVec) holds string
//     headers pointing into it.
//   - The string → number direction is an open-addressing hash table of
//     uint64 slots (32 bits of hash, number+1; 0 is empty), linear probing,
//     load ≤ 3/4, doubling when full. Only the single writer stores slots;
//     readers load them atomically, so a lookup needs no lock. Growth builds
//     a new table and publishes it atomically; readers holding the old one
//     still find every entry they may see.
//
// A reader may meet a slot for an entry added after its snapshot (number ≥
// its n): it skips it without touching the entry's string.
type dict struct {
	seed  maphash.Seed
	table atomic.Pointer[dictTable]
	vec   strVec // the writer's view; guarded by the owner's writer lock
	arena []byte // the chunk being filled; writer only
}

type dictTable struct {
	slots []atomic.Uint64
	mask  uint64
	used  int // writer only
}

const arenaChunk = 64 << 10

func newDict() *dict {
	return &dict{seed: maphash.MakeSeed()}
}

// lookup finds s among the entries of view v; safe for concurrent readers
// (and for the writer with its own view).
func (d *dict) lookup(s string, v *strVec) (uint32, bool) {
	t := d.table.Load()
	if t == nil {
		return 0, false
	}
	h := maphash.String(d.seed, s)
	fp := h >> 32
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		x := t.slots[i].Load()
		if x == 0 {
			return 0, false
		}
		if x>>32 == fp {
			if num := uint32(x) - 1; num < v.n && v.get(num) == s {
				return num, true
			}
		}
	}
}

// lookupWriter finds s among all entries; only the writer may call it.
func (d *dict) lookupWriter(s string) (uint32, bool) {
	return d.lookup(s, &d.vec)
}

// add appends s, which must not be present, and returns its number. Only
// the writer may call it. The string is copied into the arena, so the
// dictionary never pins a caller's buffer.
func (d *dict) add(s string) uint32 {
	s = d.store(s)
	num := d.vec.n
	d.vec.append(s)
	t := d.table.Load()
	if t == nil || (t.used+1)*4 > len(t.slots)*3 {
		t = d.grow(t)
	}
	h := maphash.String(d.seed, s)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		if t.slots[i].Load() == 0 {
			t.slots[i].Store(h>>32<<32 | (uint64(num) + 1))
			t.used++
			return num
		}
	}
}

// grow publishes a table twice the size of t (16 slots if nil) holding
// t's entries.
func (d *dict) grow(t *dictTable) *dictTable {
	size := 16
	if t != nil {
		size = 2 * len(t.slots)
	}
	nt := &dictTable{slots: make([]atomic.Uint64, size), mask: uint64(size - 1)}
	if t != nil {
		for i := range t.slots {
			x := t.slots[i].Load()
			if x == 0 {
				continue
			}
			num := uint32(x) - 1
			h := maphash.String(d.seed, d.vec.get(num))
			for j := h & nt.mask; ; j = (j + 1) & nt.mask {
				if nt.slots[j].Load() == 0 {
					nt.slots[j].Store(x)
					break
				}
			}
		}
		nt.used = t.used
	}
	d.table.Store(nt)
	return nt
}

// reserve sizes an empty dictionary's table for n entries (writer only).
func (d *dict) reserve(n int) {
	if d.table.Load() != nil || n <= 12 {
		return
	}
	size := 16
	for size*3 < n*4 {
		size *= 2
	}
	d.table.Store(&dictTable{slots: make([]atomic.Uint64, size), mask: uint64(size - 1)})
}

// store copies s into the arena and returns the copy. Arena bytes are never
// written again once a string points to them (the arena only grows past
// them), which is what makes the unsafe.String view immutable.
func (d *dict) store(s string) string {
	if len(s) == 0 {
		return ""
	}
	if len(s) > arenaChunk/8 {
		return strings.Clone(s)
	}
	if cap(d.arena)-len(d.arena) < len(s) {
		d.arena = make([]byte, 0, arenaChunk)
	}
	start := len(d.arena)
	d.arena = append(d.arena, s...)
	return unsafe.String(&d.arena[start], len(s))
}

// intern returns the number of s, adding it if needed (writer only).
func (d *dict) intern(s string) uint32 {
	if v, ok := d.lookupWriter(s); ok {
		return v
	}
	return d.add(s)
}

// bytes estimates the memory of the dictionary as seen through view v:
// string data, string headers, and the hash table. Safe for readers.
func (d *dict) bytes(v strVec) uint64 {
	b := uint64(len(v.chunks)) * strChunk * 16
	for i := uint32(0); i < v.n; i++ {
		b += uint64(len(v.get(i)))
	}
	if t := d.table.Load(); t != nil { // shared: may also hold later entries
		b += uint64(len(t.slots)) * 8
	}
	return b
}

// strVec is an append-only vector of strings in fixed-size chunks. A copy
// of the struct is a consistent view of the first n strings even while the
// original keeps appending: appends write only slots ≥ n and new chunks.
type strVec struct {
	chunks []*[strChunk]string
	n      uint32
}

const strChunk = 1024

func (v *strVec) append(s string) {
	if v.n%strChunk == 0 && int(v.n/strChunk) == len(v.chunks) {
		v.chunks = append(v.chunks, new([strChunk]string))
	}
	v.chunks[v.n/strChunk][v.n%strChunk] = s
	v.n++
}

// get returns string i < n.
func (v *strVec) get(i uint32) string {
	return v.chunks[i/strChunk][i%strChunk]
}
