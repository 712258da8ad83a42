package crdt

import (
	"slices"

	"octobase/engine/lib0"
)

// ---- writing ----

// write encodes the struct, skipping its first offset clocks.
func (it *Item) write(e updateEncoder, offset uint32) {
	switch {
	case it.isGC():
		e.writeInfo(refGC)
		e.writeLen(it.Length - offset)
		return
	case it.isSkip():
		e.writeInfo(refSkip)
		e.rest().WriteVarUint(uint64(it.Length - offset))
		return
	}
	hasOrigin := it.hasOrigin() || offset > 0
	origin := it.Origin
	if offset > 0 {
		origin = ID{it.ID.Client, it.ID.Clock + offset - 1}
	}
	info := it.content.ref() & 0x1f
	if hasOrigin {
		info |= 0x80
	}
	if it.hasROrigin() {
		info |= 0x40
	}
	if it.parentSub != nil {
		info |= 0x20
	}
	e.writeInfo(info)
	if hasOrigin {
		e.writeLeftID(origin)
	}
	if it.hasROrigin() {
		e.writeRightID(it.RightOrigin)
	}
	if !hasOrigin && !it.hasROrigin() {
		switch {
		case it.parent != nil && it.parent.item == nil:
			e.writeParentInfo(true)
			e.writeString(it.parent.rootName)
		case it.parent != nil:
			e.writeParentInfo(false)
			e.writeLeftID(it.parent.item.ID)
		case it.ref != nil && it.ref.isRoot:
			e.writeParentInfo(true)
			e.writeString(it.ref.name)
		case it.ref != nil:
			e.writeParentInfo(false)
			e.writeLeftID(it.ref.id)
		default:
			// An item without origins always has a parent; reaching here
			// means an inconsistent store. Write a root with an empty name
			// rather than corrupt the stream.
			e.writeParentInfo(true)
			e.writeString("")
		}
		if it.parentSub != nil {
			e.writeString(*it.parentSub)
		}
	}
	it.content.write(e, offset)
}

// writeStructs writes the structs of one client from clock on.
func writeStructs(e updateEncoder, structs []*Item, client uint64, clock uint32) {
	clock = max(clock, structs[0].ID.Clock)
	start := findIndex(structs, clock)
	r := e.rest()
	r.WriteVarUint(uint64(len(structs) - start))
	e.writeClient(client)
	e.rest().WriteVarUint(uint64(clock))
	first := structs[start]
	first.write(e, clock-first.ID.Clock)
	for _, st := range structs[start+1:] {
		st.write(e, 0)
	}
}

// writeClientsStructs writes every struct the target state vector lacks,
// clients in descending order.
func writeClientsStructs(e updateEncoder, s *store, target StateVector) {
	sm := make(map[uint64]uint32)
	for client, clock := range target {
		if s.getState(client) > clock {
			sm[client] = clock
		}
	}
	for client, structs := range s.clients {
		if len(structs) == 0 {
			continue
		}
		if _, ok := target[client]; !ok {
			sm[client] = 0
		}
	}
	e.rest().WriteVarUint(uint64(len(sm)))
	clients := make([]uint64, 0, len(sm))
	for c := range sm {
		clients = append(clients, c)
	}
	slices.Sort(clients)
	slices.Reverse(clients)
	for _, c := range clients {
		writeStructs(e, s.clients[c], c, sm[c])
	}
}

// ---- reading ----

// clientRefs are the decoded structs of one client, in clock order.
type clientRefs struct {
	refs []*Item
	i    int
}

// readClientsStructRefs decodes the struct section of an update.
//
// budget bounds the number of structs: v2 columns repeat their last value
// forever, so a few hostile bytes could otherwise claim billions of structs.
func readClientsStructRefs(d updateDecoder, doc *Doc, budget int) (map[uint64]*clientRefs, error) {
	out := make(map[uint64]*clientRefs)
	// GC structs are read into scratch first, so that runs of them cost
	// nothing; it lives on the document to spare an allocation per update.
	scratch := &Item{}
	if doc != nil {
		scratch = &doc.scratch
	}
	r := d.rest()
	numClients, err := r.varUint()
	if err != nil {
		return nil, wrapDecode("update", err)
	}
	for i := uint64(0); i < numClients; i++ {
		numStructs, err := r.varUint()
		if err != nil {
			return nil, wrapDecode("update", err)
		}
		client, err := d.readClient()
		if err != nil {
			return nil, wrapDecode("update", err)
		}
		clock64, err := r.varUint()
		if err != nil {
			return nil, wrapDecode("update", err)
		}
		if clock64 > 1<<32-1 {
			return nil, malformed("clock %d exceeds 2^32-1", clock64)
		}
		clock := uint32(clock64)
		// Every struct takes at least one byte somewhere; never trust the
		// count for the allocation.
		refs := make([]*Item, 0, min(numStructs, 1024))
		for j := uint64(0); j < numStructs; j++ {
			if budget--; budget < 0 {
				return nil, malformed("too many structs for the update's size")
			}
			st, err := readStructInto(d, doc, client, clock, scratch)
			if err != nil {
				return nil, err
			}
			next := uint64(clock) + uint64(st.Length)
			if next > 1<<32-1 {
				return nil, malformed("clock of client %d overflows", client)
			}
			clock = uint32(next)
			// Adjacent GC structs are one range to the store (it merges
			// them at the end of the transaction); merging them here keeps
			// a run of them from costing memory.
			if n := len(refs); n > 0 && st.isGC() && refs[n-1].isGC() {
				refs[n-1].Length += st.Length
				continue
			}
			if st == scratch {
				c := *scratch
				st = &c
			}
			refs = append(refs, st)
		}
		if _, dup := out[client]; dup {
			return nil, malformed("client %d is listed twice", client)
		}
		out[client] = &clientRefs{refs: refs}
	}
	return out, nil
}

// MaxStructsPerUpdate bounds the structs one update may hold beyond 64 per
// input byte. Update v2 stores repeated values once, so a legitimate update
// can hold thousands of structs per byte (20,000 characters typed backwards
// then deleted encode to 42 bytes), while a hostile one could claim billions:
// every struct costs about 150 bytes of memory (runs of GC structs are merged
// while decoding and cost nothing). Servers that accept updates from
// untrusted peers may lower it. Set it at start-up, before documents are in
// use: it is read without synchronization.
var MaxStructsPerUpdate = 1 << 18

// structBudget is the most structs an update of n bytes may hold.
func structBudget(n int) int { return 64*n + MaxStructsPerUpdate }

// readStruct decodes one struct at (client, clock). doc may be nil (document
// free processing): root parents are then kept by name.
func readStruct(d updateDecoder, doc *Doc, client uint64, clock uint32) (*Item, error) {
	return readStructInto(d, doc, client, clock, nil)
}

// readStructInto is readStruct that fills scratch, when not nil, for GC and
// skip structs instead of allocating.
func readStructInto(d updateDecoder, doc *Doc, client uint64, clock uint32, scratch *Item) (*Item, error) {
	info, err := d.readInfo()
	if err != nil {
		return nil, wrapDecode("update", err)
	}
	id := ID{client, clock}
	switch info & 0x1f {
	case refGC:
		n, err := d.readLen()
		if err != nil {
			return nil, wrapDecode("update", err)
		}
		if n == 0 {
			return nil, malformed("empty GC struct at %d:%d", client, clock)
		}
		if scratch != nil {
			*scratch = Item{ID: id, Length: n, flags: flagGC | flagDeleted}
			return scratch, nil
		}
		return newGC(id, n), nil
	case refSkip:
		n, err := d.rest().clock()
		if err != nil {
			return nil, wrapDecode("update", err)
		}
		if n == 0 {
			return nil, malformed("empty skip struct at %d:%d", client, clock)
		}
		return newSkip(id, n), nil
	}
	it := &Item{ID: id}
	if info&0x80 != 0 {
		o, err := d.readLeftID()
		if err != nil {
			return nil, wrapDecode("update", err)
		}
		it.setOrigin(o)
	}
	if info&0x40 != 0 {
		o, err := d.readRightID()
		if err != nil {
			return nil, wrapDecode("update", err)
		}
		it.setROrigin(o)
	}
	if info&0xc0 == 0 {
		isRoot, err := d.readParentInfo()
		if err != nil {
			return nil, wrapDecode("update", err)
		}
		if isRoot {
			name, err := d.readString()
			if err != nil {
				return nil, wrapDecode("update", err)
			}
			it.ref = &parentRef{name: name, isRoot: true}
			if doc != nil {
				doc.getRoot(name)
			}
		} else {
			pid, err := d.readLeftID()
			if err != nil {
				return nil, wrapDecode("update", err)
			}
			it.ref = &parentRef{id: pid}
		}
		if info&0x20 != 0 {
			sub, err := d.readString()
			if err != nil {
				return nil, wrapDecode("update", err)
			}
			it.parentSub = &sub
		}
	}
	c, err := readContent(d, info)
	if err != nil {
		return nil, err
	}
	it.content = c
	it.Length = c.length()
	if it.Length == 0 {
		return nil, malformed("empty item at %d:%d", client, clock)
	}
	if c.countable() {
		it.flags |= flagCountable
	}
	return it, nil
}

// readContent decodes item content by its ref.
func readContent(d updateDecoder, info uint8) (content, error) {
	switch info & 0x1f {
	case refDeleted:
		n, err := d.readLen()
		if err != nil {
			return nil, wrapDecode("deleted content", err)
		}
		return &contentDeleted{n}, nil
	case refJSON:
		n, err := d.readLen()
		if err != nil {
			return nil, wrapDecode("json content", err)
		}
		arr := make([]any, 0, min(int(n), 1024))
		for i := uint32(0); i < n; i++ {
			s, err := d.readString()
			if err != nil {
				return nil, wrapDecode("json content", err)
			}
			v, err := parseJSON(s)
			if err != nil {
				return nil, wrapDecode("json content", err)
			}
			arr = append(arr, v)
		}
		return &contentJSON{arr}, nil
	case refBinary:
		b, err := d.readBuf()
		if err != nil {
			return nil, wrapDecode("binary content", err)
		}
		return &contentBinary{b}, nil
	case refString:
		s, err := d.readString()
		if err != nil {
			return nil, wrapDecode("string content", err)
		}
		return newContentString(s), nil
	case refEmbed:
		v, err := d.readJSON()
		if err != nil {
			return nil, wrapDecode("embed content", err)
		}
		if v == lib0.Undefined {
			// JSON cannot carry it: the v1 encoding of this document
			// would not decode (yjs throws writing it).
			return nil, malformed("undefined embed")
		}
		return &contentEmbed{v}, nil
	case refFormat:
		k, err := d.readKey()
		if err != nil {
			return nil, wrapDecode("format content", err)
		}
		v, err := d.readJSON()
		if err != nil {
			return nil, wrapDecode("format content", err)
		}
		if v == lib0.Undefined {
			return nil, malformed("undefined format value")
		}
		return &contentFormat{k, v}, nil
	case refType:
		ref, err := d.readTypeRef()
		if err != nil {
			return nil, wrapDecode("type content", err)
		}
		t := newType(Kind(ref))
		switch Kind(ref) {
		case KindArray, KindMap, KindText, KindXmlFragment, KindXmlText:
		case KindXmlElement, KindXmlHook:
			name, err := d.readKey()
			if err != nil {
				return nil, wrapDecode("type content", err)
			}
			t.name = name
		default:
			return nil, &decodeError{what: "type content", err: unsupportedf("type ref %d", ref)}
		}
		return &contentType{t}, nil
	case refAny:
		n, err := d.readLen()
		if err != nil {
			return nil, wrapDecode("any content", err)
		}
		arr := make([]any, 0, min(int(n), 1024))
		for i := uint32(0); i < n; i++ {
			v, err := d.readAny()
			if err != nil {
				return nil, wrapDecode("any content", err)
			}
			arr = append(arr, v)
		}
		return &contentAny{arr}, nil
	case refDoc:
		guid, err := d.readString()
		if err != nil {
			return nil, wrapDecode("doc content", err)
		}
		opts, err := d.readAny()
		if err != nil {
			return nil, wrapDecode("doc content", err)
		}
		return &contentDoc{&SubDoc{GUID: guid, Opts: normalizeSubDocOpts(opts)}}, nil
	}
	return nil, &decodeError{what: "update", err: unsupportedf("content ref %d", info&0x1f)}
}
