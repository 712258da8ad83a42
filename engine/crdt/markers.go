package crdt

// searchMarkers caches (item, index) pairs of a list so that index lookups
// start near their target. (Placeholder: markers are not enabled yet; every
// method is safe on a nil receiver.)
type searchMarkers struct{}

type searchMarker struct {
	p     *Item
	index int
}

func (m *searchMarkers) find(t *Type, index int) *searchMarker { return nil }
func (m *searchMarkers) updateChanges(index, length int)       {}
func (m *searchMarkers) replace(old, with *Item)               {}
func (m *searchMarkers) reset()                                {}
