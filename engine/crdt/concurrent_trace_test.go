package crdt

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"octobase/engine/lib0"
)

type concTrace struct {
	EndContent string `json:"endContent"`
	NumAgents  int    `json:"numAgents"`
	Txns       []struct {
		Parents []int                `json:"parents"`
		Agent   int                  `json:"agent"`
		Patches [][3]json.RawMessage `json:"patches"`
	} `json:"txns"`
}

// u16Offset converts a code-point position in s to UTF-16 units.
func u16Offset(s string, cp int) int {
	u := 0
	for _, r := range s {
		if cp == 0 {
			break
		}
		cp--
		u++
		if r >= 0x10000 {
			u++
		}
	}
	return u
}

// TestConcurrentTraces replays the concurrent editing traces with one
// document per agent: before each transaction the agent's document receives
// exactly the updates of the transaction's causal past; at the end every
// update is merged and the text must equal endContent.
func TestConcurrentTraces(t *testing.T) {
	for _, name := range []string{"friendsforever", "clownschool"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(traceDir, "concurrent", name+".json.gz")
			f, err := os.Open(path)
			if err != nil {
				t.Skipf("editing trace %s not available: %v", path, err)
			}
			defer f.Close()
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			var tr concTrace
			if err := json.NewDecoder(zr).Decode(&tr); err != nil {
				t.Fatal(err)
			}
			// When nothing outside the BMP is ever inserted, code points
			// and UTF-16 units coincide and positions need no conversion.
			bmp := true
			for _, txn := range tr.Txns {
				for _, p := range txn.Patches {
					var ins string
					_ = json.Unmarshal(p[2], &ins)
					for _, r := range ins {
						bmp = bmp && r < 0x10000
					}
				}
			}
			n := len(tr.Txns)
			updates := make([][]byte, n)
			docs := make([]*Doc, tr.NumAgents)
			applied := make([][]bool, tr.NumAgents) // per agent: txn applied to its doc
			for a := range docs {
				docs[a] = MustNewDoc(Options{ClientID: uint64(a + 1)})
				applied[a] = make([]bool, n)
			}
			for i, txn := range tr.Txns {
				a := txn.Agent
				d := docs[a]
				// Bring in the causal past not yet applied, oldest first.
				var need []int
				stack := append([]int(nil), txn.Parents...)
				seen := map[int]bool{}
				for len(stack) > 0 {
					p := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					if applied[a][p] || seen[p] {
						continue
					}
					seen[p] = true
					need = append(need, p)
					stack = append(stack, tr.Txns[p].Parents...)
				}
				slices.Sort(need)
				for _, p := range need {
					if err := d.ApplyUpdate(updates[p], nil); err != nil {
						t.Fatalf("txn %d: apply %d: %v", i, p, err)
					}
					applied[a][p] = true
				}
				txt, _ := d.GetText("text")
				var u []byte
				cancel := d.OnUpdate(func(b []byte, _ *Txn) { u = append(u, b...) })
				var opErr error
				d.Transact(nil, func(tx *Txn) {
					for _, p := range txn.Patches {
						var pos, del int
						var ins string
						_ = json.Unmarshal(p[0], &pos)
						_ = json.Unmarshal(p[1], &del)
						_ = json.Unmarshal(p[2], &ins)
						p16, end := pos, pos+del
						if !bmp {
							s := txt.String()
							p16, end = u16Offset(s, pos), u16Offset(s, pos+del)
						}
						if del > 0 {
							if opErr = txt.Delete(tx, p16, end-p16); opErr != nil {
								return
							}
						}
						if ins != "" {
							if opErr = txt.Insert(tx, p16, ins, nil); opErr != nil {
								return
							}
						}
					}
				})
				cancel()
				if opErr != nil {
					t.Fatalf("txn %d: %v", i, opErr)
				}
				if u == nil { // an empty transaction still takes a slot
					u = []byte{0, 0}
				}
				updates[i] = u
				applied[a][i] = true
			}
			merged, err := MergeUpdates(updates)
			if err != nil {
				t.Fatal(err)
			}
			final := MustNewDoc(Options{ClientID: 1000})
			if err := final.ApplyUpdate(merged, nil); err != nil {
				t.Fatal(err)
			}
			txt, _ := final.GetText("text")
			if got := txt.String(); got != tr.EndContent {
				t.Fatalf("final text differs from endContent (len %d vs %d)", lib0.UTF16Len(got), lib0.UTF16Len(tr.EndContent))
			}
			// Every agent, after receiving everything, agrees too.
			for a, d := range docs {
				if err := d.ApplyUpdate(merged, nil); err != nil {
					t.Fatal(err)
				}
				at, _ := d.GetText("text")
				if at.String() != tr.EndContent {
					t.Fatalf("agent %d differs after full sync", a)
				}
			}
		})
	}
}
