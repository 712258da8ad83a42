package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/RoaringBitmap/roaring/v2"
)

// File format constants: part of the format (see doc.go); changing any of
// them requires a new format version.
const (
	fileMagic     = "OCTOINDX"
	FormatVersion = 1 // the newest format version this build writes and reads
	headerSize    = 32
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// WriteTo writes the latest snapshot of ix; see Snapshot.WriteTo.
func (ix *Index) WriteTo(w io.Writer) (int64, error) {
	return ix.Snapshot().WriteTo(w)
}

// WriteTo writes the snapshot in the index file format (doc.go, "File
// format"): deterministic for a given snapshot, readable by ReadFrom. It
// can run while the index keeps applying changes. The body is built in
// memory first (as large as the file) so the header can carry its length
// and checksum.
func (s *Snapshot) WriteTo(w io.Writer) (int64, error) {
	s = s.settled()
	body := s.appendBody(make([]byte, headerSize, headerSize+s.sizeHint()))
	h := body[:headerSize]
	copy(h[0:8], fileMagic)
	binary.LittleEndian.PutUint32(h[8:12], FormatVersion)
	binary.LittleEndian.PutUint32(h[12:16], 0)
	binary.LittleEndian.PutUint64(h[16:24], uint64(len(body)-headerSize))
	binary.LittleEndian.PutUint32(h[24:28], crc32.Checksum(body[headerSize:], castagnoli))
	binary.LittleEndian.PutUint32(h[28:32], crc32.Checksum(h[0:28], castagnoli))
	n, err := w.Write(body)
	if err == nil && n < len(body) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return int64(n), fmt.Errorf("index: write: %w", err)
	}
	return int64(n), nil
}

func (s *Snapshot) sizeHint() int {
	return int(s.idv.n)*24 + int(s.live.GetSerializedSizeInBytes())*8
}

func (s *Snapshot) appendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, s.pos)
	for _, v := range []strVec{s.idv, s.flv, s.crv} {
		b = binary.AppendUvarint(b, uint64(v.n))
		for i := uint32(0); i < v.n; i++ {
			str := v.get(i)
			b = binary.AppendUvarint(b, uint64(len(str)))
			b = append(b, str...)
		}
	}
	b = appendBitmap(b, s.live, false)
	b = appendBitmap(b, s.deleted, false)
	b = appendPostings(b, &s.flavour)
	b = appendPostings(b, &s.creator)
	// Parents, one per live row in row order: parent row + 1, 0 for a root.
	parent := make([]uint32, s.idv.n)
	s.children.each(func(p uint32, rs rowSet) bool {
		rs.each(func(r RowID) bool { parent[r] = p + 1; return true })
		return true
	})
	s.live.Iterate(func(r uint32) bool {
		b = binary.AppendUvarint(b, uint64(parent[r]))
		return true
	})
	b = binary.AppendUvarint(b, uint64(s.links.len()))
	s.links.each(func(k uint32, v []RowID) bool {
		b = binary.AppendUvarint(b, uint64(k))
		b = binary.AppendUvarint(b, uint64(len(v)))
		for _, t := range v {
			b = binary.AppendUvarint(b, uint64(t))
		}
		return true
	})
	b = appendPostings(b, &s.createdHour)
	b = appendPostings(b, &s.updatedHour)
	return b
}

func appendPostings(b []byte, t *trie[rowSet]) []byte {
	b = binary.AppendUvarint(b, uint64(t.len()))
	t.each(func(k uint32, rs rowSet) bool {
		b = binary.AppendUvarint(b, uint64(k))
		b = appendBitmap(b, rs.bitmap(), rs.big == nil)
		return true
	})
	return b
}

// appendBitmap appends bm in roaring's portable format, canonically: it
// writes a run-optimized copy, so the same rows give the same bytes
// whatever containers bm has in memory (and runs keep files small).
func appendBitmap(b []byte, bm *roaring.Bitmap, private bool) []byte {
	if !private {
		bm = bm.Clone() // a deep copy: bm is a shared, frozen posting
	}
	bm.RunOptimize()
	b = binary.AppendUvarint(b, bm.GetSerializedSizeInBytes())
	buf := bytes.NewBuffer(b)
	if _, err := bm.WriteTo(buf); err != nil {
		panic(err) // a bytes.Buffer does not fail
	}
	return buf.Bytes()
}

// ReadFrom replaces the content of ix with an index file read from r, and
// publishes it as a new snapshot; existing snapshots are unaffected. It
// reads exactly the file's bytes (header, then the body length the header
// gives), so the file may be followed by other data in r.
//
// Errors: a file of a newer format version gives a *VersionError
// (errors.Is(err, ErrUnsupportedVersion)); damage of any kind — bad magic,
// checksum mismatch, truncation, malformed or inconsistent contents — gives
// a *CorruptError (errors.Is(err, ErrCorrupt)); failures of r itself are
// returned wrapped. ReadFrom never panics on bad input. On error ix is
// unchanged.
//
// Cost: O(file size); the derived postings (backlinks, day buckets) and the
// writer's per-row state are rebuilt, which also checks the contents.
func (ix *Index) ReadFrom(r io.Reader) (int64, error) {
	ix.init()
	var h [headerSize]byte
	n, err := io.ReadFull(r, h[:])
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return int64(n), corruptf(int64(n), errTruncated, "header needs %d bytes, got %d", headerSize, n)
		}
		return int64(n), fmt.Errorf("index: read: %w", err)
	}
	total := int64(n)
	if string(h[0:8]) != fileMagic {
		return total, corruptf(0, errBadMagic, "")
	}
	if got, want := binary.LittleEndian.Uint32(h[28:32]), crc32.Checksum(h[0:28], castagnoli); got != want {
		return total, corruptf(28, errChecksum, "header")
	}
	version := binary.LittleEndian.Uint32(h[8:12])
	if version > FormatVersion {
		return total, &VersionError{Version: version, Supported: FormatVersion}
	}
	if version == 0 {
		return total, corruptf(8, errMalformed, "format version 0")
	}
	if flags := binary.LittleEndian.Uint32(h[12:16]); flags != 0 {
		return total, corruptf(12, errMalformed, "unknown flags %#x", flags)
	}
	size := binary.LittleEndian.Uint64(h[16:24])
	if size > 1<<62 {
		return total, corruptf(16, errMalformed, "body length %d", size)
	}
	// Never trust the length for an allocation: grow as bytes arrive.
	var body bytes.Buffer
	m, err := io.CopyN(&body, r, int64(size))
	total += m
	if err != nil {
		if errors.Is(err, io.EOF) {
			return total, corruptf(total, errTruncated, "body has %d of %d bytes", m, size)
		}
		return total, fmt.Errorf("index: read: %w", err)
	}
	if got, want := binary.LittleEndian.Uint32(h[24:28]), crc32.Checksum(body.Bytes(), castagnoli); got != want {
		return total, corruptf(24, errChecksum, "body")
	}
	s, rows, err := decodeBody(body.Bytes())
	if err != nil {
		return total, err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	s.gen = ix.cur.Load().gen + 1
	ix.mu.rows = *rows
	clear(ix.mu.owned)
	ix.cur.Store(s)
	return total, nil
}

// decoder reads a version-1 body. Every count is checked against the bytes
// left before anything is allocated for it.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(reason error, format string, args ...any) {
	if d.err == nil {
		d.err = corruptf(int64(headerSize+d.off), reason, format, args...)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		if n == 0 {
			d.fail(errTruncated, "varint")
		} else {
			d.fail(errMalformed, "varint overflows")
		}
		return 0
	}
	d.off += n
	return v
}

// count reads a count of items taking at least minBytes each.
func (d *decoder) count(what string, minBytes int) int {
	v := d.uvarint()
	if d.err == nil && v > uint64(len(d.b)-d.off)/uint64(minBytes) {
		d.fail(errMalformed, "%s count %d exceeds the remaining %d bytes", what, v, len(d.b)-d.off)
		return 0
	}
	return int(v)
}

func (d *decoder) u32(what string, limit uint64) uint32 {
	v := d.uvarint()
	if d.err == nil && v >= limit {
		d.fail(errMalformed, "%s %d out of range (limit %d)", what, v, limit)
		return 0
	}
	return uint32(v)
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.fail(errTruncated, "%d bytes needed, %d left", n, len(d.b)-d.off)
		return nil
	}
	v := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return v
}

func (d *decoder) bitmap(what string, limit uint32) *roaring.Bitmap {
	start := d.off
	buf := d.bytes(d.uvarint())
	if d.err != nil {
		return nil
	}
	bm, err := readBitmap(buf)
	if err != nil {
		d.off = start
		d.fail(errMalformed, "%s bitmap: %v", what, err)
		return nil
	}
	if !bm.IsEmpty() && bm.Maximum() >= limit {
		d.off = start
		d.fail(errMalformed, "%s bitmap holds %d, beyond %d", what, bm.Maximum(), limit)
		return nil
	}
	return bm
}

// readBitmap decodes one bitmap in roaring's portable format, which must
// fill buf exactly. checkPortable validates the bytes first, in linear
// time; a recover stays as a last guard, so that no input roaring does not
// anticipate can panic ReadFrom.
func readBitmap(buf []byte) (bm *roaring.Bitmap, err error) {
	if err := checkPortable(buf); err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			bm, err = nil, fmt.Errorf("decoder panic: %v", p)
		}
	}()
	bm = roaring.New()
	r := bytes.NewReader(buf)
	if _, err := bm.ReadFrom(r); err != nil {
		return nil, err
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%d trailing bytes", r.Len())
	}
	return bm, nil
}

// decodeBody parses a version-1 body into a snapshot and the writer's
// per-row state, rebuilding derived postings and checking consistency.
func decodeBody(body []byte) (*Snapshot, *rowStates, error) {
	d := &decoder{b: body}
	s := emptySnapshot()
	const gen = 1 // nodes built here; the snapshot is published as is
	s.pos = d.uvarint()
	for _, dc := range []struct {
		what    string
		d       *dict
		nonzero bool
	}{{"block id", s.ids, true}, {"flavour", s.flavours, false}, {"creator", s.creators, false}} {
		n := d.count(dc.what, 1)
		if uint64(n) > MaxRows {
			d.fail(errMalformed, "%d %ss", n, dc.what)
		}
		dc.d.reserve(n)
		for i := 0; i < n && d.err == nil; i++ {
			start := d.off
			str := string(d.bytes(d.uvarint()))
			if d.err != nil {
				break
			}
			if dc.nonzero && str == "" {
				d.off = start
				d.fail(errMalformed, "empty %s", dc.what)
				break
			}
			if _, dup := dc.d.lookupWriter(str); dup {
				d.off = start
				d.fail(errMalformed, "duplicate %s %q", dc.what, str)
				break
			}
			dc.d.add(str)
		}
	}
	s.idv, s.flv, s.crv = s.ids.vec, s.flavours.vec, s.creators.vec
	nrows := s.idv.n
	s.live = d.bitmap("live", nrows)
	s.deleted = d.bitmap("deleted", nrows)
	postings := func(what string, t *trie[rowSet], keyLimit uint64) {
		n := d.count(what, 2)
		prev := int64(-1)
		for i := 0; i < n && d.err == nil; i++ {
			k := d.u32(what+" key", keyLimit)
			if d.err == nil && int64(k) <= prev {
				d.fail(errMalformed, "%s keys not ascending", what)
			}
			bm := d.bitmap(what, nrows)
			if d.err == nil && bm.IsEmpty() {
				d.fail(errMalformed, "empty %s posting", what)
			}
			if d.err == nil {
				t.set(gen, k, makeRowSet(bm))
				prev = int64(k)
			}
		}
	}
	postings("flavour", &s.flavour, uint64(s.flv.n))
	postings("creator", &s.creator, uint64(s.crv.n))
	var children builder
	if d.err == nil {
		if c := s.live.GetCardinality(); c > uint64(len(d.b)-d.off) {
			d.fail(errMalformed, "%d parents exceed the remaining %d bytes", c, len(d.b)-d.off)
		}
	}
	if d.err == nil {
		s.live.Iterate(func(r uint32) bool {
			p := d.u32("parent", uint64(nrows)+1)
			switch {
			case d.err != nil:
				return false
			case p == 0:
				s.roots.Add(r)
			default:
				children.add(p-1, RowID(r))
			}
			return true
		})
	}
	nl := d.count("links", 2)
	prev := int64(-1)
	for i := 0; i < nl && d.err == nil; i++ {
		k := d.u32("link source", uint64(nrows))
		if d.err == nil && int64(k) <= prev {
			d.fail(errMalformed, "link sources not ascending")
		}
		m := d.count("link targets", 1)
		if d.err == nil && m == 0 {
			d.fail(errMalformed, "empty link list")
		}
		v := make([]RowID, 0, m)
		for j := 0; j < m && d.err == nil; j++ {
			v = append(v, RowID(d.u32("link target", uint64(nrows))))
		}
		if d.err == nil {
			s.links.set(gen, k, v)
			prev = int64(k)
		}
	}
	postings("created hour", &s.createdHour, uint64(lastHour)+1)
	postings("updated hour", &s.updatedHour, uint64(lastHour)+1)
	if d.err == nil && d.off != len(d.b) {
		d.fail(errMalformed, "%d trailing bytes", len(d.b)-d.off)
	}
	if d.err != nil {
		return nil, nil, d.err
	}
	s.children = children.trie(gen)
	s.backlinks = deriveBacklinks(&s.links, gen)
	s.createdDay = deriveDays(&s.createdHour, gen)
	s.updatedDay = deriveDays(&s.updatedHour, gen)
	rows, err := deriveRows(s)
	if err != nil {
		return nil, nil, &CorruptError{Offset: headerSize, Err: fmt.Errorf("%w: %w", errMalformed, err)}
	}
	for _, bm := range []*roaring.Bitmap{s.live, s.deleted, s.roots} {
		freeze(bm)
	}
	return s, rows, nil
}
