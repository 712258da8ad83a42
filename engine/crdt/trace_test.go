package crdt

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf16"
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

func TestScratchTraceBytes(t *testing.T) {
	for _, name := range []string{"sveltecomponent", "rustcode"} {
		want, err := os.ReadFile("/tmp/tr/" + name + ".bin")
		if err != nil {
			t.Skip(err)
		}
		d, end := replayTrace(t, filepath.Join(traceDir, "sequential", name+".json.gz"))
		txt, _ := d.GetText("text")
		if txt.String() != end {
			t.Fatalf("%s: text differs", name)
		}
		got := d.EncodeStateAsUpdate(nil)
		if string(got) != string(want) {
			t.Errorf("%s: v1 differs: got %d bytes want %d", name, len(got), len(want))
			for i := range got {
				if i >= len(want) || got[i] != want[i] {
					t.Logf("first diff at %d: got %x want %x", i, got[i:min(i+20, len(got))], want[i:min(i+20, len(want))])
					break
				}
			}
		}
		want2, _ := os.ReadFile("/tmp/tr/" + name + ".bin.v2")
		if got2 := d.EncodeStateAsUpdateV2(nil); string(got2) != string(want2) {
			t.Errorf("%s: v2 differs: got %d want %d", name, len(got2), len(want2))
		}
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
