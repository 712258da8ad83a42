package crdt

// maxSearchMarkers is how many markers a list keeps (as yjs).
const maxSearchMarkers = 80

// searchMarkers caches (item, index) pairs of a list (arrays and texts) so
// that index lookups start near their target instead of at the list's head.
// They are an optimization only; yjs disables them for text with
// formatting, and so do we, because positions found from a marker lack the
// attributes in effect before it. Methods are safe on a nil receiver.
type searchMarkers struct {
	ms    []*searchMarker
	clock uint64
}

type searchMarker struct {
	p     *Item
	index int
	ts    uint64
}

func (m *searchMarkers) touch(s *searchMarker) {
	m.clock++
	s.ts = m.clock
}

func (m *searchMarkers) overwrite(s *searchMarker, p *Item, index int) {
	s.p.flags &^= flagMarker
	s.p = p
	p.flags |= flagMarker
	s.index = index
	m.touch(s)
}

func (m *searchMarkers) mark(p *Item, index int) *searchMarker {
	if len(m.ms) >= maxSearchMarkers {
		oldest := m.ms[0]
		for _, s := range m.ms[1:] {
			if s.ts < oldest.ts {
				oldest = s
			}
		}
		m.overwrite(oldest, p, index)
		return oldest
	}
	s := &searchMarker{p: p, index: index}
	p.flags |= flagMarker
	m.touch(s)
	m.ms = append(m.ms, s)
	return s
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// find returns a marker at or near index (yjs findMarker), or nil.
func (m *searchMarkers) find(t *Type, index int) *searchMarker {
	if m == nil || t.start == nil || index == 0 {
		return nil
	}
	var marker *searchMarker
	for _, s := range m.ms {
		if marker == nil || !(abs(index-marker.index) < abs(index-s.index)) {
			marker = s
		}
	}
	p := t.start
	pindex := 0
	if marker != nil {
		p = marker.p
		pindex = marker.index
		m.touch(marker)
	}
	for p.Right != nil && pindex < index {
		if p.visible() {
			if index < pindex+int(p.Length) {
				break
			}
			pindex += int(p.Length)
		}
		p = p.Right
	}
	for p.Left != nil && pindex > index {
		p = p.Left
		if p.visible() {
			pindex -= int(p.Length)
		}
	}
	for p.Left != nil && p.Left.ID.Client == p.ID.Client && p.Left.ID.Clock+p.Left.Length == p.ID.Clock {
		p = p.Left
		if p.visible() {
			pindex -= int(p.Length)
		}
	}
	if marker != nil && float64(abs(marker.index-pindex)) < float64(p.parent.length)/maxSearchMarkers {
		m.overwrite(marker, p, pindex)
		return marker
	}
	return m.mark(p, pindex)
}

// updateChanges shifts markers after an insertion (length > 0) or a
// deletion (length < 0) at index. Call it before deleting.
func (m *searchMarkers) updateChanges(index, length int) {
	if m == nil {
		return
	}
	for i := len(m.ms) - 1; i >= 0; i-- {
		s := m.ms[i]
		if length > 0 {
			p := s.p
			p.flags &^= flagMarker
			for p != nil && (p.Deleted() || !p.countable()) {
				p = p.Left
				if p != nil && p.visible() {
					s.index -= int(p.Length)
				}
			}
			if p == nil || p.flags&flagMarker != 0 {
				m.ms = append(m.ms[:i], m.ms[i+1:]...)
				continue
			}
			s.p = p
			p.flags |= flagMarker
		}
		if index < s.index || (length > 0 && index == s.index) {
			s.index = max(index, s.index+length)
		}
	}
}

// replace moves markers on old (about to be merged into with) to with.
func (m *searchMarkers) replace(old, with *Item) {
	if m == nil {
		return
	}
	for _, s := range m.ms {
		if s.p == old {
			s.p = with
			if with.visible() {
				s.index -= int(with.Length)
			}
		}
	}
}

// reset drops every marker (after remote changes).
func (m *searchMarkers) reset() {
	if m == nil {
		return
	}
	for _, s := range m.ms {
		s.p.flags &^= flagMarker
	}
	m.ms = m.ms[:0]
}
