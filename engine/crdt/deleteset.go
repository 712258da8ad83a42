package crdt

import (
	"slices"
)

// DeleteRange is a run of deleted clocks of one client.
type DeleteRange struct {
	Clock, Len uint32
}

// DeleteSet records deleted ids as ranges per client. After sortAndMerge the
// ranges of each client are sorted by clock and do not touch or overlap.
type DeleteSet map[uint64][]DeleteRange

func (ds DeleteSet) add(client uint64, clock, length uint32) {
	ds[client] = append(ds[client], DeleteRange{clock, length})
}

// sortAndMerge sorts each client's ranges and merges adjacent ones.
func (ds DeleteSet) sortAndMerge() {
	for c, dels := range ds {
		if len(dels) < 2 {
			continue
		}
		slices.SortStableFunc(dels, func(a, b DeleteRange) int {
			switch {
			case a.Clock < b.Clock:
				return -1
			case a.Clock > b.Clock:
				return 1
			}
			return 0
		})
		j := 1
		for i := 1; i < len(dels); i++ {
			left := &dels[j-1]
			right := dels[i]
			if uint64(left.Clock)+uint64(left.Len) >= uint64(right.Clock) {
				end := max(uint64(left.Clock)+uint64(left.Len), uint64(right.Clock)+uint64(right.Len))
				left.Len = uint32(end - uint64(left.Clock))
			} else {
				dels[j] = right
				j++
			}
		}
		ds[c] = dels[:j]
	}
}

// Contains reports whether id is deleted. The set must be sorted and merged.
func (ds DeleteSet) Contains(id ID) bool {
	dels := ds[id.Client]
	lo, hi := 0, len(dels)-1
	for lo <= hi {
		mid := (lo + hi) / 2
		r := dels[mid]
		if r.Clock <= id.Clock {
			if id.Clock < r.Clock+r.Len {
				return true
			}
			lo = mid + 1
		} else {
			hi = mid - 1
		}
	}
	return false
}

// clientsDesc returns the clients in descending order.
func (ds DeleteSet) clientsDesc() []uint64 {
	out := make([]uint64, 0, len(ds))
	for c := range ds {
		out = append(out, c)
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

// mergeDeleteSets merges several sets into a new sorted, merged set.
func mergeDeleteSets(dss []DeleteSet) DeleteSet {
	out := DeleteSet{}
	for i, ds := range dss {
		for c, dels := range ds {
			if _, ok := out[c]; ok {
				continue
			}
			merged := append([]DeleteRange(nil), dels...)
			for _, later := range dss[i+1:] {
				merged = append(merged, later[c]...)
			}
			out[c] = merged
		}
	}
	out.sortAndMerge()
	return out
}

// deleteSetFromStore collects the deleted ranges of every struct.
func deleteSetFromStore(s *store) DeleteSet {
	ds := DeleteSet{}
	for c, structs := range s.clients {
		var dels []DeleteRange
		for i := 0; i < len(structs); i++ {
			it := structs[i]
			if !it.Deleted() {
				continue
			}
			clock, n := it.ID.Clock, it.Length
			for i+1 < len(structs) && structs[i+1].Deleted() {
				i++
				n += structs[i].Length
			}
			dels = append(dels, DeleteRange{clock, n})
		}
		if len(dels) > 0 {
			ds[c] = dels
		}
	}
	return ds
}

// writeDeleteSet writes ds in descending client order, its ranges sorted
// and merged (v2 delta-codes clocks and writes len-1, so unsorted or empty
// ranges would not decode). Sets yjs produces are already in this form.
func writeDeleteSet(e updateEncoder, ds DeleteSet) {
	for c, dels := range ds {
		if slices.ContainsFunc(dels, func(d DeleteRange) bool { return d.Len == 0 }) {
			dels = slices.DeleteFunc(slices.Clone(dels), func(d DeleteRange) bool { return d.Len == 0 })
			ds[c] = dels
		}
		if len(dels) == 0 {
			delete(ds, c)
		}
	}
	ds.sortAndMerge()
	r := e.rest()
	r.WriteVarUint(uint64(len(ds)))
	for _, c := range ds.clientsDesc() {
		e.resetDsCurVal()
		r = e.rest()
		r.WriteVarUint(c)
		dels := ds[c]
		r.WriteVarUint(uint64(len(dels)))
		for _, d := range dels {
			e.writeDsClock(d.Clock)
			e.writeDsLen(d.Len)
		}
	}
}

// readDeleteSet reads a delete set without sorting it.
func readDeleteSet(d updateDecoder) (DeleteSet, error) {
	ds, _, err := readDeleteSetOrdered(d)
	return ds, err
}

// readDeleteSetOrdered also returns the clients in the order read.
func readDeleteSetOrdered(d updateDecoder) (DeleteSet, []uint64, error) {
	var order []uint64
	var ds DeleteSet
	r := d.rest()
	n, err := r.varUint()
	if err != nil {
		return nil, nil, wrapDecode("delete set", err)
	}
	for i := uint64(0); i < n; i++ {
		d.resetDsCurVal()
		client, err := r.client()
		if err != nil {
			return nil, nil, wrapDecode("delete set", err)
		}
		num, err := r.varUint()
		if err != nil {
			return nil, nil, wrapDecode("delete set", err)
		}
		if num > uint64(r.remaining()/2) {
			return nil, nil, wrapDecode("delete set", errTruncated)
		}
		for j := uint64(0); j < num; j++ {
			clock, err := d.readDsClock()
			if err != nil {
				return nil, nil, wrapDecode("delete set", err)
			}
			length, err := d.readDsLen()
			if err != nil {
				return nil, nil, wrapDecode("delete set", err)
			}
			if uint64(clock)+uint64(length) > 1<<32-1 {
				return nil, nil, malformed("delete range %d:%d+%d overflows the clock", client, clock, length)
			}
			if ds == nil {
				ds = DeleteSet{}
			}
			if _, ok := ds[client]; !ok {
				order = append(order, client)
			}
			ds[client] = append(ds[client], DeleteRange{clock, length})
		}
	}
	return ds, order, nil
}

// EncodeDeleteSetV1 returns the v1 encoding of ds (sorted and merged first).
func EncodeDeleteSetV1(ds DeleteSet) []byte {
	ds.sortAndMerge()
	e := newEncoderV1()
	writeDeleteSet(e, ds)
	return e.bytes()
}

// DecodeDeleteSetV1 parses a v1-encoded delete set.
func DecodeDeleteSetV1(b []byte) (DeleteSet, error) {
	d := newDecoderV1(b)
	ds, err := readDeleteSet(d)
	if err != nil {
		return nil, err
	}
	if ds == nil {
		ds = DeleteSet{}
	}
	ds.sortAndMerge()
	return ds, nil
}
