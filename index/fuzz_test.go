package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

// sealed returns data with a valid version-1 header for whatever follows
// the first 32 bytes, so the fuzzer reaches the body parser instead of
// stopping at the checksums.
func sealed(data []byte) []byte {
	if len(data) < headerSize {
		return nil
	}
	d := bytes.Clone(data)
	copy(d[0:8], fileMagic)
	binary.LittleEndian.PutUint32(d[8:12], FormatVersion)
	binary.LittleEndian.PutUint32(d[12:16], 0)
	binary.LittleEndian.PutUint64(d[16:24], uint64(len(d)-headerSize))
	binary.LittleEndian.PutUint32(d[24:28], crc32.Checksum(d[headerSize:], castagnoli))
	binary.LittleEndian.PutUint32(d[28:32], crc32.Checksum(d[:28], castagnoli))
	return d
}

// FuzzReadFrom: ReadFrom never panics; it fails with ErrCorrupt or
// ErrUnsupportedVersion, or it succeeds with an index that passes Verify
// and survives a write/read round trip unchanged. Each input is tried as
// is and sealed (checksums fixed). The seeds run in every go test.
func FuzzReadFrom(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte(fileMagic))
	empty := mustWrite(f, New().Snapshot())
	f.Add(empty)
	golden := mustWrite(f, goldenIndex(f).Snapshot())
	f.Add(golden)
	f.Add(golden[:len(golden)/2])
	f.Add(withVersion(golden, 2))
	w := newWorkload(7, 12)
	ix := New()
	for range 6 {
		mustApply(f, ix, 1, w.batch())
		f.Add(mustWrite(f, ix.Snapshot()))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data)
		if s := sealed(data); s != nil {
			fuzzRead(t, s)
		}
	})
}

func fuzzRead(t *testing.T, data []byte) {
	ix := New()
	n, err := ix.ReadFrom(bytes.NewReader(data))
	if err != nil {
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedVersion) {
			t.Fatalf("untyped error: %v", err)
		}
		if ix.Snapshot().Rows() != 0 {
			t.Fatal("failed ReadFrom changed the index")
		}
		return
	}
	if n > int64(len(data)) {
		t.Fatalf("read %d of %d bytes", n, len(data))
	}
	s := ix.Snapshot()
	if err := s.Verify(); err != nil {
		t.Fatalf("ReadFrom accepted an inconsistent index: %v", err)
	}
	again := mustRead(t, mustWrite(t, s))
	if err := ix.Check(again); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	// The loaded index accepts changes.
	mustApply(t, ix, 1, []BlockChange{{ID: "fuzz", Flavour: "f", Parent: "x", Links: []string{"y"}}})
	if err := ix.Snapshot().Verify(); err != nil {
		t.Fatal(err)
	}
}
