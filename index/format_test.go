package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden files")

// goldenChanges builds a small index touching every posting family.
func goldenChanges() []BlockChange {
	return []BlockChange{
		{ID: "page", Flavour: "affine:page", Creator: "alice", Created: t0, Updated: t0 + 5*hourMs},
		{ID: "note", Flavour: "affine:note", Creator: "alice", Parent: "page", Created: t0 + 1, Updated: t0 + dayMs},
		{ID: "p1", Flavour: "affine:paragraph", Creator: "bob", Parent: "note", Links: []string{"page", "ghost"}, Created: t0 + 2, Updated: t0 + 2},
		{ID: "p2", Flavour: "affine:paragraph", Creator: "", Parent: "note", Links: []string{"p1", "p2"}, Created: MinTime - 5, Updated: MaxTime + 5},
		{ID: "gone", Flavour: "affine:list", Creator: "bob", Parent: "note", Created: t0, Updated: t0},
		{ID: "gone", Deleted: true},
		{ID: "never", Deleted: true},
	}
}

func goldenIndex(t testing.TB) *Index {
	ix := New()
	mustApply(t, ix, 42, goldenChanges())
	return ix
}

// TestFormatGolden pins the version-1 byte layout (ltx
// encoder_golden_test.go style): this build must write exactly the
// committed file and read it back equal. Regenerate with -update only for a
// deliberate format change, which also needs a new FormatVersion.
func TestFormatGolden(t *testing.T) {
	ix := goldenIndex(t)
	data := mustWrite(t, ix.Snapshot())
	path := filepath.Join("testdata", "v1.golden")
	if *update {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, want) {
		t.Fatalf("WriteTo differs from %s (%d vs %d bytes): the format changed", path, len(data), len(want))
	}
	if err := ix.Check(mustRead(t, want)); err != nil {
		t.Fatal(err)
	}
}

// withVersion returns data with its header's version set and header CRC
// fixed.
func withVersion(data []byte, v uint32) []byte {
	d := bytes.Clone(data)
	binary.LittleEndian.PutUint32(d[8:12], v)
	binary.LittleEndian.PutUint32(d[28:32], crc32.Checksum(d[:28], castagnoli))
	return d
}

func TestFormatVersion(t *testing.T) {
	data := mustWrite(t, goldenIndex(t).Snapshot())
	_, err := New().ReadFrom(bytes.NewReader(withVersion(data, FormatVersion+1)))
	var ve *VersionError
	if !errors.As(err, &ve) || !errors.Is(err, ErrUnsupportedVersion) || errors.Is(err, ErrCorrupt) ||
		ve.Version != FormatVersion+1 || !strings.Contains(err.Error(), "newer octobase") {
		t.Fatalf("newer version: %v", err)
	}
	if _, err := New().ReadFrom(bytes.NewReader(withVersion(data, 0))); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("version 0: %v", err)
	}
}

func TestFormatCorruption(t *testing.T) {
	ix := goldenIndex(t)
	data := mustWrite(t, ix.Snapshot())
	target := New()
	mustApply(t, target, 1, []BlockChange{{ID: "keep"}})
	before := target.Snapshot()
	expectCorrupt := func(what string, b []byte) {
		t.Helper()
		n, err := target.ReadFrom(bytes.NewReader(b))
		var ce *CorruptError
		if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) {
			t.Fatalf("%s: got %v", what, err)
		}
		if n > int64(len(b)) {
			t.Fatalf("%s: read %d of %d bytes", what, n, len(b))
		}
		if target.Snapshot() != before {
			t.Fatalf("%s: a failed ReadFrom changed the index", what)
		}
	}
	for i := range data {
		for _, bit := range []byte{0x01, 0x80} {
			d := bytes.Clone(data)
			d[i] ^= bit
			expectCorrupt("bit flip", d)
		}
	}
	for n := range len(data) {
		expectCorrupt("truncation", data[:n])
	}
	expectCorrupt("not an index", []byte(strings.Repeat("OCTOPLOG", 8)))
}

func TestFormatStream(t *testing.T) {
	a := mustWrite(t, goldenIndex(t).Snapshot())
	empty := mustWrite(t, New().Snapshot())
	r := bytes.NewReader(append(append(bytes.Clone(a), empty...), "tail"...))
	ix1, ix2 := New(), New()
	if n, err := ix1.ReadFrom(r); err != nil || n != int64(len(a)) {
		t.Fatal(n, err)
	}
	if n, err := ix2.ReadFrom(r); err != nil || n != int64(len(empty)) {
		t.Fatal(n, err)
	}
	if rest, _ := io.ReadAll(r); string(rest) != "tail" {
		t.Fatalf("ReadFrom read past its file: %q left", rest)
	}
	if ix2.Snapshot().Rows() != 0 || goldenIndex(t).Check(ix1) != nil {
		t.Fatal("round trip")
	}
	// The reloaded index keeps working like the original.
	more := []BlockChange{{ID: "p1", Flavour: "affine:list", Parent: "page", Links: []string{"never"}}, {ID: "gone", Flavour: "x"}}
	orig := goldenIndex(t)
	mustApply(t, orig, 43, more)
	mustApply(t, ix1, 43, more)
	if err := orig.Check(ix1); err != nil {
		t.Fatal(err)
	}
	// Reader errors are passed on, not reported as corruption.
	boom := errors.New("boom")
	_, err := New().ReadFrom(io.MultiReader(bytes.NewReader(a[:40]), errReader{boom}))
	if !errors.Is(err, boom) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("reader error: %v", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
