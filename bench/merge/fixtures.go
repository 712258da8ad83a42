package merge

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"octobase/engine/crdt"
)

// fixtures is the B4 data every implementation shares: the trace, the
// per-edit v1 updates a remote peer receives and the encoded final state,
// recorded once with octobase/engine/crdt (client clientID(1)) and written
// to files for the Node.js implementations.
type fixtures struct {
	err         error // why the B4 benchmarks cannot run (trace missing, ...)
	tracePath   string
	trace       *Trace
	updates     [][]byte // v1, one per trace edit
	updatesSize int
	stateV1     []byte
	stateV2     []byte

	dir                      string // temporary directory holding the files below
	updatesFile              string // each update as uint32 little-endian length + bytes
	stateV1File, stateV2File string
}

// Files returns the paths the Node.js side reads.
func (fx *fixtures) files() map[string]string {
	if fx == nil || fx.err != nil {
		return nil
	}
	m := map[string]string{"trace": fx.tracePath}
	if fx.updatesFile != "" {
		m["updates"] = fx.updatesFile
		m["stateV1"] = fx.stateV1File
		m["stateV2"] = fx.stateV2File
	}
	return m
}

// loadFixtures loads the trace and, when record is set, records the
// updates and states. Errors are kept in fx.err: only the B4 benchmarks
// depend on them.
func loadFixtures(tracePath string, record bool) *fixtures {
	fx := &fixtures{tracePath: tracePath}
	fx.trace, fx.err = LoadTrace(tracePath)
	if fx.err != nil || !record {
		return fx
	}
	fx.err = fx.record()
	return fx
}

func (fx *fixtures) record() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("merge: recording the B4 updates: %v", r)
		}
	}()
	d := crdt.MustNewDoc(crdt.Options{ClientID: clientID(1)})
	d.OnUpdate(func(u []byte, _ *crdt.Txn) {
		fx.updates = append(fx.updates, slices.Clone(u))
		fx.updatesSize += len(u)
	})
	txt, err := d.GetText("text")
	if err != nil {
		return err
	}
	for _, op := range fx.trace.Ops {
		if op.del > 0 {
			if err := txt.Delete(nil, op.pos, op.del); err != nil {
				return err
			}
		}
		if op.ins != "" {
			if err := txt.Insert(nil, op.pos, op.ins, nil); err != nil {
				return err
			}
		}
	}
	if txt.String() != fx.trace.End {
		return errors.New("merge: replaying the B4 trace did not give its endContent")
	}
	fx.stateV1 = d.EncodeStateAsUpdate(nil)
	fx.stateV2 = d.EncodeStateAsUpdateV2(nil)
	return nil
}

// writeFiles writes the recorded data to a new temporary directory.
func (fx *fixtures) writeFiles() error {
	if fx.err != nil || fx.updates == nil {
		return nil
	}
	dir, err := os.MkdirTemp("", "octobase-bench-")
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	fx.dir = dir
	buf := make([]byte, 0, fx.updatesSize+4*len(fx.updates))
	for _, u := range fx.updates {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(u)))
		buf = append(buf, u...)
	}
	fx.updatesFile = filepath.Join(dir, "b4-updates.v1.bin")
	fx.stateV1File = filepath.Join(dir, "b4-state.v1.bin")
	fx.stateV2File = filepath.Join(dir, "b4-state.v2.bin")
	for name, b := range map[string][]byte{fx.updatesFile: buf, fx.stateV1File: fx.stateV1, fx.stateV2File: fx.stateV2} {
		if err := os.WriteFile(name, b, 0o644); err != nil {
			return fmt.Errorf("merge: %w", err)
		}
	}
	return nil
}

func (fx *fixtures) cleanup() {
	if fx != nil && fx.dir != "" {
		os.RemoveAll(fx.dir)
	}
}

func naReason(err error) string {
	if errors.Is(err, ErrNoTrace) {
		return "n/a (trace missing)"
	}
	return "n/a (" + err.Error() + ")"
}
