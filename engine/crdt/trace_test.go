package crdt

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf16"

	"octobase/internal/jstest/yjsfixture"
)

// traceDir is where the shared editing traces live, seen from this package.
const traceDir = "../../../shared/data/editing-traces"

type seqTrace struct {
	StartContent string `json:"startContent"`
	EndContent   string `json:"endContent"`
	Txns         []struct {
		Patches [][3]json.RawMessage `json:"patches"`
	} `json:"txns"`
}

type patch struct {
	pos, del int
	ins      string
}

func loadTrace(tb testing.TB, path string) (start, end string, txns [][]patch) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Skipf("editing trace %s not available: %v", path, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	var tr seqTrace
	if err := json.NewDecoder(zr).Decode(&tr); err != nil {
		tb.Fatal(err)
	}
	for _, t := range tr.Txns {
		var ps []patch
		for _, p := range t.Patches {
			var x patch
			_ = json.Unmarshal(p[0], &x.pos)
			_ = json.Unmarshal(p[1], &x.del)
			_ = json.Unmarshal(p[2], &x.ins)
			ps = append(ps, x)
		}
		txns = append(txns, ps)
	}
	return tr.StartContent, tr.EndContent, txns
}

// cpText tracks the document as code points to convert trace positions
// (code points) into UTF-16 offsets.
type cpText struct {
	runes  []rune
	astral bool // any rune outside the BMP seen (then units != code points)
	bmp    bool // the whole trace stays in the BMP: no tracking needed
}

func (c *cpText) u16(from, n int) int {
	if !c.astral {
		return n
	}
	total := 0
	for _, r := range c.runes[from : from+n] {
		total += len(utf16.Encode([]rune{r}))
	}
	return total
}

// replayTrace replays a sequential trace into Text "text" of a new doc with
// client id 1, one transaction per trace transaction.
func replayTrace(tb testing.TB, path string) (*Doc, string) {
	start, end, txns := loadTrace(tb, path)
	d := MustNewDoc(Options{ClientID: 1})
	txt, _ := d.GetText("text")
	c := &cpText{bmp: true}
	for _, ps := range txns {
		for _, p := range ps {
			for _, r := range p.ins {
				if r >= 0x10000 {
					c.bmp = false
				}
			}
		}
	}
	if start != "" {
		if err := txt.Insert(nil, 0, start, nil); err != nil {
			tb.Fatal(err)
		}
		c.runes = []rune(start)
		for _, r := range c.runes {
			if r >= 0x10000 {
				c.astral = true
			}
		}
	}
	if start != "" && c.bmp {
		for _, r := range start {
			if r >= 0x10000 {
				c.bmp = false
			}
		}
	}
	for _, ps := range txns {
		var err error
		d.Transact(nil, func(tx *Txn) {
			for _, p := range ps {
				p16 := c.u16(0, p.pos)
				if c.bmp {
					if p.del > 0 {
						if err = txt.Delete(tx, p.pos, p.del); err != nil {
							return
						}
					}
					if p.ins != "" {
						err = txt.Insert(tx, p.pos, p.ins, nil)
					}
					continue
				}
				if p.del > 0 {
					if err = txt.Delete(tx, p16, c.u16(p.pos, p.del)); err != nil {
						return
					}
					c.runes = append(c.runes[:p.pos], c.runes[p.pos+p.del:]...)
				}
				if p.ins != "" {
					if err = txt.Insert(tx, p16, p.ins, nil); err != nil {
						return
					}
					ins := []rune(p.ins)
					for _, r := range ins {
						if r >= 0x10000 {
							c.astral = true
						}
					}
					c.runes = append(c.runes[:p.pos], append(ins, c.runes[p.pos:]...)...)
				}
			}
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return d, end
}

// TestSequentialTracesMatchYjs replays every sequential trace (client id 1,
// one transaction per trace transaction) and requires the final text to be
// endContent and the v1 and v2 encodings to be byte-identical to what yjs
// produced for the same history (recorded in testdata/yjs/traces.json).
func TestSequentialTracesMatchYjs(t *testing.T) {
	tr, err := yjsfixture.LoadTraces()
	if err != nil {
		t.Skipf("traces fixture not available: %v", err)
	}
	if tr.Client != 1 || tr.Root != "text" {
		t.Fatalf("fixture replayed with client %d root %q", tr.Client, tr.Root)
	}
	for _, want := range tr.Traces {
		t.Run(want.File, func(t *testing.T) {
			if testing.Short() && want.Txns > 50000 {
				t.Skip("long trace in -short mode")
			}
			d, end := replayTrace(t, filepath.Join(traceDir, "sequential", want.File))
			txt, _ := d.GetText("text")
			if txt.String() != end {
				t.Fatal("text differs from endContent")
			}
			if got := EncodeStateVector(d.StateVector()); !bytes.Equal(got, want.SV) {
				t.Fatalf("state vector %x, want %x", got, want.SV)
			}
			v1 := d.EncodeStateAsUpdate(nil)
			if len(v1) != want.StateV1.Len || sha(v1) != want.StateV1.SHA256 {
				t.Fatalf("v1 state: %d bytes, want %d (or same length, other bytes)", len(v1), want.StateV1.Len)
			}
			v2 := d.EncodeStateAsUpdateV2(nil)
			if len(v2) != want.StateV2.Len || sha(v2) != want.StateV2.SHA256 {
				t.Fatalf("v2 state: %d bytes, want %d (or same length, other bytes)", len(v2), want.StateV2.Len)
			}
			// Loading either encoding gives the same text and encodings.
			for _, fmt2 := range []bool{false, true} {
				re := MustNewDoc(Options{ClientID: 2})
				var err error
				if fmt2 {
					err = re.ApplyUpdateV2(v2, nil)
				} else {
					err = re.ApplyUpdate(v1, nil)
				}
				if err != nil {
					t.Fatal(err)
				}
				rt, _ := re.GetText("text")
				if rt.String() != end || !bytes.Equal(re.EncodeStateAsUpdate(nil), v1) {
					t.Fatalf("reload (v2=%v) differs", fmt2)
				}
			}
		})
	}
}

func BenchmarkReplayAutomergePaper(b *testing.B) {
	path := filepath.Join(traceDir, "sequential", "automerge-paper.json.gz")
	for i := 0; i < b.N; i++ {
		d, end := replayTrace(b, path)
		txt, _ := d.GetText("text")
		if txt.String() != end {
			b.Fatal("wrong result")
		}
	}
}
