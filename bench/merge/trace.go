package merge

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// B4TraceFile is the B4 trace inside the editing-traces directory.
const B4TraceFile = "sequential/automerge-paper.json.gz"

// EnvTraceDir overrides where the editing traces are looked for.
const EnvTraceDir = "OCTOBASE_TRACES"

// ErrNoTrace is returned (wrapped) when the editing trace file is absent.
var ErrNoTrace = errors.New("merge: editing trace not available")

// Trace is a sequential editing trace flattened to single edits. Each edit
// deletes Del units at Pos, then inserts Ins at Pos, in one transaction.
// Positions count UTF-16 units (LoadTrace accepts only traces without
// astral code points, where code points and UTF-16 units coincide).
type Trace struct {
	Ops []textOp
	End string
}

// DefaultTraceDir returns $OCTOBASE_TRACES, or the shared editing-traces
// directory beside the repository (<root>/../shared/data/editing-traces).
func DefaultTraceDir(root string) string {
	if d := os.Getenv(EnvTraceDir); d != "" {
		return d
	}
	return filepath.Join(filepath.Dir(root), "shared", "data", "editing-traces")
}

// LoadTrace reads a josephg/editing-traces sequential trace
// ({startContent, endContent, txns:[{patches:[[pos, del, ins]]}]}).
// A missing file returns an error wrapping ErrNoTrace.
func LoadTrace(path string) (*Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoTrace, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("merge: trace %s: %w", path, err)
	}
	var raw struct {
		StartContent string `json:"startContent"`
		EndContent   string `json:"endContent"`
		Txns         []struct {
			Patches [][3]json.RawMessage `json:"patches"`
		} `json:"txns"`
	}
	if err := json.NewDecoder(zr).Decode(&raw); err != nil {
		return nil, fmt.Errorf("merge: trace %s: %w", path, err)
	}
	t := &Trace{End: raw.EndContent}
	astral := hasAstral(raw.StartContent) || hasAstral(raw.EndContent)
	if raw.StartContent != "" {
		t.Ops = append(t.Ops, textOp{pos: 0, ins: raw.StartContent})
	}
	for i, tx := range raw.Txns {
		for _, p := range tx.Patches {
			var op textOp
			if err := json.Unmarshal(p[0], &op.pos); err != nil {
				return nil, fmt.Errorf("merge: trace %s: txn %d: %w", path, i, err)
			}
			if err := json.Unmarshal(p[1], &op.del); err != nil {
				return nil, fmt.Errorf("merge: trace %s: txn %d: %w", path, i, err)
			}
			if err := json.Unmarshal(p[2], &op.ins); err != nil {
				return nil, fmt.Errorf("merge: trace %s: txn %d: %w", path, i, err)
			}
			astral = astral || hasAstral(op.ins)
			t.Ops = append(t.Ops, op)
		}
	}
	if astral {
		return nil, fmt.Errorf("merge: trace %s has code points above U+FFFF: its code-point positions would need converting to UTF-16", path)
	}
	return t, nil
}

func hasAstral(s string) bool {
	for _, r := range s {
		if r >= 0x10000 {
			return true
		}
	}
	return false
}
