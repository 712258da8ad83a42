package crdt

// Item flags.
const (
	flagKeep        uint8 = 1 << iota // never garbage-collect
	flagCountable                     // content counts toward the parent's length
	flagDeleted                       // deleted (GC structs are always deleted)
	flagMarker                        // referenced by a search marker
	flagGC                            // a GC struct: no content, no parent, no links
	flagSkip                          // a Skip struct (only inside decoded updates)
	flagOrigin                        // Origin is set
	flagRightOrigin                   // RightOrigin is set
)

// Item is one struct of the document: a run of Length consecutive clocks of
// one client, with its content, its position in the parent's list (Left,
// Right) and the neighbours it was inserted between (Origin, RightOrigin).
//
// GC structs are Items with the GC flag: they keep only ID and Length.
type Item struct {
	ID          ID
	Length      uint32
	flags       uint8
	Left, Right *Item
	Origin      ID
	RightOrigin ID
	parent      *Type
	parentSub   *string
	content     content
	// ref holds the parent as decoded, until the item is integrated.
	ref *parentRef
}

// parentRef is a decoded item's parent before it is resolved.
type parentRef struct {
	name   string // root type name when isRoot
	id     ID     // parent item id otherwise
	isRoot bool
}

func (it *Item) Deleted() bool    { return it.flags&flagDeleted != 0 }
func (it *Item) isGC() bool       { return it.flags&flagGC != 0 }
func (it *Item) isSkip() bool     { return it.flags&flagSkip != 0 }
func (it *Item) countable() bool  { return it.flags&flagCountable != 0 }
func (it *Item) keep() bool       { return it.flags&flagKeep != 0 }
func (it *Item) hasOrigin() bool  { return it.flags&flagOrigin != 0 }
func (it *Item) hasROrigin() bool { return it.flags&flagRightOrigin != 0 }
func (it *Item) markDeleted()     { it.flags |= flagDeleted }
func (it *Item) lastID() ID       { return ID{it.ID.Client, it.ID.Clock + it.Length - 1} }
func (it *Item) setOrigin(id ID)  { it.Origin = id; it.flags |= flagOrigin }
func (it *Item) setROrigin(id ID) { it.RightOrigin = id; it.flags |= flagRightOrigin }
func (it *Item) visible() bool    { return it.flags&(flagDeleted|flagCountable) == flagCountable }

// newItem builds an item for local insertion or decoding.
func newItem(id ID, left *Item, origin *ID, right *Item, rightOrigin *ID, parent *Type, parentSub *string, c content) *Item {
	it := &Item{ID: id, Left: left, Right: right, parent: parent, parentSub: parentSub, content: c, Length: c.length()}
	if origin != nil {
		it.setOrigin(*origin)
	}
	if rightOrigin != nil {
		it.setROrigin(*rightOrigin)
	}
	if c.countable() {
		it.flags |= flagCountable
	}
	return it
}

func newGC(id ID, length uint32) *Item {
	return &Item{ID: id, Length: length, flags: flagGC | flagDeleted}
}

func newSkip(id ID, length uint32) *Item {
	return &Item{ID: id, Length: length, flags: flagSkip | flagDeleted}
}

// prev returns the previous non-deleted item to the left.
func (it *Item) prev() *Item {
	n := it.Left
	for n != nil && n.Deleted() {
		n = n.Left
	}
	return n
}

// splitItem splits left at diff and returns the right part, linked in after
// left. Both parts keep their place in the struct store only if the caller
// inserts the result there.
func splitItem(tx *Txn, left *Item, diff uint32) *Item {
	client, clock := left.ID.Client, left.ID.Clock
	right := &Item{
		ID:          ID{client, clock + diff},
		Length:      left.Length - diff,
		flags:       left.flags &^ (flagMarker | flagOrigin),
		Left:        left,
		Right:       left.Right,
		RightOrigin: left.RightOrigin,
		parent:      left.parent,
		parentSub:   left.parentSub,
		content:     left.content.splice(diff),
	}
	right.setOrigin(ID{client, clock + diff - 1})
	left.Length = diff
	left.Right = right
	if right.Right != nil {
		right.Right.Left = right
	}
	if tx != nil {
		tx.mergeStructs = append(tx.mergeStructs, right)
	}
	if right.parentSub != nil && right.Right == nil {
		right.parent.m[*right.parentSub] = right
	}
	return right
}

// getMissing resolves origins and parent. It returns the client of a
// dependency that is not yet in the store (ok=false), or splits neighbours as
// needed and fills Left, Right and parent (ok=true).
func (it *Item) getMissing(tx *Txn, s *store) (missing uint64, ok bool, err error) {
	if it.hasOrigin() && it.Origin.Client != it.ID.Client && it.Origin.Clock >= s.getState(it.Origin.Client) {
		return it.Origin.Client, false, nil
	}
	if it.hasROrigin() && it.RightOrigin.Client != it.ID.Client && it.RightOrigin.Clock >= s.getState(it.RightOrigin.Client) {
		return it.RightOrigin.Client, false, nil
	}
	if r := it.ref; r != nil && !r.isRoot && it.ID.Client != r.id.Client && r.id.Clock >= s.getState(r.id.Client) {
		return r.id.Client, false, nil
	}
	if it.hasOrigin() {
		// A same-client origin at or after the item itself cannot exist.
		if it.Origin.Client == it.ID.Client && it.Origin.Clock >= it.ID.Clock {
			return 0, false, malformed("item %d:%d has origin %d:%d after itself", it.ID.Client, it.ID.Clock, it.Origin.Client, it.Origin.Clock)
		}
		l, err := s.getItemCleanEnd(tx, it.Origin)
		if err != nil {
			return 0, false, err
		}
		it.Left = l
		it.Origin = l.lastID()
	}
	if it.hasROrigin() {
		if it.RightOrigin.Client == it.ID.Client && it.RightOrigin.Clock >= it.ID.Clock && it.RightOrigin.Clock >= s.getState(it.ID.Client) {
			return 0, false, malformed("item %d:%d has right origin %d:%d that does not exist", it.ID.Client, it.ID.Clock, it.RightOrigin.Client, it.RightOrigin.Clock)
		}
		r, err := s.getItemCleanStart(tx, it.RightOrigin)
		if err != nil {
			return 0, false, err
		}
		it.Right = r
		it.RightOrigin = r.ID
	}
	ref := it.ref
	it.ref = nil
	switch {
	case (it.Left != nil && it.Left.isGC()) || (it.Right != nil && it.Right.isGC()):
		it.parent = nil
	case ref == nil:
		if it.Left != nil {
			it.parent = it.Left.parent
			it.parentSub = it.Left.parentSub
		} else if it.Right != nil {
			it.parent = it.Right.parent
			it.parentSub = it.Right.parentSub
		}
	case ref.isRoot:
		it.parent = tx.doc.getRoot(ref.name)
	default:
		p, err := s.find(ref.id)
		if err != nil {
			return 0, false, err
		}
		if ct, ok := p.content.(*contentType); ok && !p.isGC() {
			it.parent = ct.t
		} else {
			// A collected parent (GC, or a deleted type whose content was
			// dropped) makes the item garbage too, as in yjs.
			it.parent = nil
		}
	}
	return 0, true, nil
}

// integrate links the item into its parent (YATA conflict resolution) and
// adds it to the store. offset > 0 skips the first offset clocks, which the
// store already holds.
func (it *Item) integrate(tx *Txn, offset uint32) error {
	s := tx.doc.store
	if it.isGC() {
		if offset > 0 {
			it.ID.Clock += offset
			it.Length -= offset
		}
		s.add(it)
		return nil
	}
	if offset > 0 {
		it.ID.Clock += offset
		l, err := s.getItemCleanEnd(tx, ID{it.ID.Client, it.ID.Clock - 1})
		if err != nil {
			return err
		}
		it.Left = l
		it.setOrigin(l.lastID())
		it.content = it.content.splice(offset)
		it.Length -= offset
	}
	p := it.parent
	if p == nil {
		// The parent was garbage-collected: keep only the id range.
		it.content = nil
		it.Left, it.Right = nil, nil
		it.parentSub = nil
		it.flags = flagGC | flagDeleted
		s.add(it)
		return nil
	}
	if (it.Left == nil && (it.Right == nil || it.Right.Left != nil)) || (it.Left != nil && it.Left.Right != it.Right) {
		left := it.Left
		var o *Item
		if left != nil {
			o = left.Right
		} else if it.parentSub != nil {
			o = p.m[*it.parentSub]
			for o != nil && o.Left != nil {
				o = o.Left
			}
		} else {
			o = p.start
		}
		// itemsBeforeOrigin holds every item scanned; conflictingItems the
		// ones scanned since the last "left = o". Both are kept as one set
		// of scan positions: conflicting means position ≥ cut.
		scan := &tx.doc.scan
		scan.reset()
		cut := 0
		for o != nil && o != it.Right {
			scan.add(o)
			if originEq(it, o) {
				if o.ID.Client < it.ID.Client {
					left = o
					cut = scan.n
				} else if rightOriginEq(it, o) {
					break
				}
			} else if o.hasOrigin() {
				oo := s.findOrNil(o.Origin)
				if pos, ok := scan.pos(oo); oo != nil && ok {
					if pos < cut {
						left = o
						cut = scan.n
					}
				} else {
					break
				}
			} else {
				break
			}
			o = o.Right
		}
		it.Left = left
	}
	if it.Left != nil {
		it.Right = it.Left.Right
		it.Left.Right = it
	} else {
		var r *Item
		if it.parentSub != nil {
			r = p.m[*it.parentSub]
			for r != nil && r.Left != nil {
				r = r.Left
			}
		} else {
			r = p.start
			p.start = it
		}
		it.Right = r
	}
	if it.Right != nil {
		it.Right.Left = it
	} else if it.parentSub != nil {
		if p.m == nil {
			p.m = make(map[string]*Item)
		}
		if _, ok := p.m[*it.parentSub]; !ok {
			p.keyOrder = append(p.keyOrder, *it.parentSub)
		}
		p.m[*it.parentSub] = it
		if it.Left != nil {
			it.Left.delete(tx)
		}
	}
	if it.parentSub == nil && it.visible() {
		p.length += int(it.Length)
	}
	s.add(it)
	it.content.integrate(tx, it)
	tx.addChanged(p, it.parentSub)
	if (p.item != nil && p.item.Deleted()) || (it.parentSub != nil && it.Right != nil) {
		it.delete(tx)
	}
	return nil
}

func originEq(a, b *Item) bool {
	if a.hasOrigin() != b.hasOrigin() {
		return false
	}
	return !a.hasOrigin() || a.Origin == b.Origin
}

func rightOriginEq(a, b *Item) bool {
	if a.hasROrigin() != b.hasROrigin() {
		return false
	}
	return !a.hasROrigin() || a.RightOrigin == b.RightOrigin
}

// delete marks the item deleted and records it in the transaction.
func (it *Item) delete(tx *Txn) {
	if it.Deleted() {
		return
	}
	p := it.parent
	if it.countable() && it.parentSub == nil {
		p.length -= int(it.Length)
	}
	it.markDeleted()
	tx.addDeleted(it.ID.Client, it.ID.Clock, it.Length)
	tx.addChanged(p, it.parentSub)
	it.content.delete(tx)
}

// gc drops the content of a deleted item. When its parent was collected too
// (parentGCd) the item becomes a GC struct.
func (it *Item) gc(s *store, parentGCd bool) {
	if it.isGC() || !it.Deleted() {
		return
	}
	it.content.gc(s)
	if parentGCd {
		it.content = nil
		it.parent = nil
		it.parentSub = nil
		it.flags = flagGC | flagDeleted
	} else {
		it.content = &contentDeleted{it.Length}
		it.flags &^= flagCountable
	}
}

// mergeWith appends right to it when both are contiguous runs of the same
// client that were inserted one after the other (yjs Item.mergeWith).
func (it *Item) mergeWith(right *Item) bool {
	if it.flags&(flagGC|flagSkip) != 0 || right.flags&(flagGC|flagSkip) != 0 {
		if it.flags&(flagGC|flagSkip) == right.flags&(flagGC|flagSkip) {
			it.Length += right.Length
			return true
		}
		return false
	}
	if !right.hasOrigin() || right.Origin != it.lastID() || it.Right != right || !rightOriginEq(it, right) ||
		it.ID.Client != right.ID.Client || it.ID.Clock+it.Length != right.ID.Clock ||
		it.Deleted() != right.Deleted() || it.content.ref() != right.content.ref() {
		return false
	}
	if !it.content.mergeWith(right.content) {
		return false
	}
	if m := it.parent.markers; m != nil {
		m.replace(right, it)
	}
	if right.keep() {
		it.flags |= flagKeep
	}
	it.Right = right.Right
	if it.Right != nil {
		it.Right.Left = it
	}
	it.Length += right.Length
	return true
}

// scanSet records the items a conflict scan visited, with their order. It
// lives on the Doc and is reused by every integration.
type scanSet struct {
	small []*Item
	big   map[*Item]int
	n     int // items added since reset
}

func (s *scanSet) reset() {
	s.small = s.small[:0]
	if s.n > 16 { // the map was used: clear it (cost is its capacity)
		clear(s.big)
	}
	s.n = 0
}

// add records it as the next scanned item (position s.n, then s.n+1, ...).
func (s *scanSet) add(it *Item) {
	if s.n < 16 {
		s.small = append(s.small, it)
	} else {
		if s.big == nil {
			s.big = make(map[*Item]int, 64)
		}
		if s.n == 16 {
			for i, x := range s.small {
				s.big[x] = i
			}
		}
		s.big[it] = s.n
	}
	s.n++
}

// pos returns the position at which it was scanned.
func (s *scanSet) pos(it *Item) (int, bool) {
	if s.n <= 16 {
		for i, x := range s.small {
			if x == it {
				return i, true
			}
		}
		return 0, false
	}
	p, ok := s.big[it]
	return p, ok
}
