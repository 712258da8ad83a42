package oplogbench

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"octobase/engine"
	"octobase/engine/crdt"
)

// ReopenOptions configure Reopen. The zero value builds 100,000 blocks and
// a 1,000-record tail in a temporary directory.
type ReopenOptions struct {
	Dir    string // where the store is written; "" means a temporary directory
	Blocks int    // blocks in the workspace; 0 means 100,000
	Tail   int    // records logged after the last snapshot; 0 means 1,000
	// Progress, if set, receives a line per build phase.
	Progress io.Writer
}

// ReopenResult is what Reopen measured.
type ReopenResult struct {
	Blocks        int     `json:"blocks"`
	Records       uint64  `json:"records"`        // records in the log
	SnapshotBytes int     `json:"snapshot_bytes"` // encoded state at the snapshot
	Tail          int     `json:"tail_records"`   // records replayed after the snapshot (crash case)
	BuildSeconds  float64 `json:"build_s"`
	CleanMS       float64 `json:"clean_reopen_ms"` // after a clean close: snapshot only
	CrashMS       float64 `json:"crash_reopen_ms"` // after a crash: snapshot + tail
}

// Reopen measures how long a workspace of opts.Blocks blocks takes to open:
// after a clean close (the close wrote a snapshot: nothing to replay) and
// after a crash that left opts.Tail records after the last snapshot (the
// store's files are copied while it is open, with every record fsynced,
// which is what a power cut at that moment leaves). Each open is timed from
// engine.Open to the first read answered, and checked to hold every block;
// the median of three rounds is reported.
func Reopen(ctx context.Context, opts ReopenOptions, w io.Writer) (ReopenResult, error) {
	if opts.Blocks <= 0 {
		opts.Blocks = 100_000
	}
	if opts.Tail <= 0 {
		opts.Tail = 1_000
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "octobase-bench-reopen-")
		if err != nil {
			return ReopenResult{}, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	res := ReopenResult{Blocks: opts.Blocks, Tail: opts.Tail}
	src, crash := filepath.Join(dir, "store"), filepath.Join(dir, "crashed")
	eopts := func() *engine.Options {
		// No background snapshots: the benchmark decides where they are.
		return &engine.Options{SnapshotRecords: 1 << 30, SnapshotBytes: 1 << 50, IdleTimeout: -1}
	}
	start := time.Now()
	s, err := engine.Open(src, eopts())
	if err != nil {
		return res, err
	}
	closeS := func() error {
		if s == nil {
			return nil
		}
		err := s.Close()
		s = nil
		return err
	}
	defer closeS()
	ws, err := s.Workspace(ctx, "bench")
	if err != nil {
		return res, err
	}
	fmt.Fprintf(progress, "reopen: building %d blocks...\n", opts.Blocks)
	ids, err := buildBlocks(ctx, ws, opts.Blocks, progress)
	if err != nil {
		return res, err
	}
	if _, err := ws.Snapshot(ctx); err != nil {
		return res, err
	}
	state, err := ws.EncodeStateAsUpdate(ctx, nil)
	if err != nil {
		return res, err
	}
	res.SnapshotBytes = len(state)
	fmt.Fprintf(progress, "reopen: snapshot of %d bytes; logging a %d-record tail...\n", len(state), opts.Tail)
	rng := rand.New(rand.NewPCG(2, 3))
	for i := range opts.Tail {
		id := ids[rng.IntN(len(ids))]
		if _, err := ws.Transact(ctx, "bench", func(_ *crdt.Txn, b *engine.Blocks) error {
			return b.SetProp(id, "status", fmt.Sprintf("edit %d", i))
		}); err != nil {
			return res, err
		}
	}
	last, err := ws.LastLSN(ctx)
	if err != nil {
		return res, err
	}
	res.Records = uint64(last)
	// Every record is fsynced (the default durability): the files as they
	// are now are what a crash would leave.
	crashCopy := filepath.Join(dir, "crashed.orig")
	for _, d := range []string{crash, crashCopy} {
		if err := copyTree(src, d); err != nil {
			return res, err
		}
	}
	if err := closeS(); err != nil { // a clean close snapshots the tail
		return res, err
	}
	res.BuildSeconds = time.Since(start).Seconds()

	// Three rounds, alternating, keeping each case's median: the first
	// open of a directory also pays for a cold page cache.
	var times [2][]float64
	for round := range 3 {
		for i, c := range []struct{ name, dir string }{{"clean", src}, {"crash", crash}} {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			d, n, err := timeOpen(ctx, c.dir, eopts())
			if err != nil {
				return res, fmt.Errorf("reopen after %s close: %w", c.name, err)
			}
			if n != len(ids) {
				return res, fmt.Errorf("reopen after %s close: %d blocks, want %d", c.name, n, len(ids))
			}
			times[i] = append(times[i], float64(d.Microseconds())/1000)
			if c.name == "crash" && round < 2 {
				// Opening replayed the tail; the clean close that follows
				// snapshots it. Restore the crashed state for the next round.
				if err := os.RemoveAll(crash); err != nil {
					return res, err
				}
				if err := copyTree(crashCopy, crash); err != nil {
					return res, err
				}
			}
		}
	}
	res.CleanMS, res.CrashMS = median(times[0]), median(times[1])
	fmt.Fprintf(w, "\nworkspace reopen: %d blocks, %d records, snapshot %.1f MB\n", res.Blocks, res.Records, float64(res.SnapshotBytes)/1e6)
	fmt.Fprintf(w, "  after a clean close (snapshot only):           %8.1f ms\n", res.CleanMS)
	fmt.Fprintf(w, "  after a crash (snapshot + %d-record tail): %8.1f ms\n", res.Tail, res.CrashMS)
	return res, nil
}

// buildBlocks creates n blocks in a tree of pages (a page per 100 blocks,
// notes and paragraphs under it, some with rich text, some linking to
// others), 1,000 blocks per transaction, and returns their ids.
func buildBlocks(ctx context.Context, ws *engine.Workspace, n int, progress io.Writer) ([]engine.BlockID, error) {
	flavours := []string{"affine:paragraph", "affine:paragraph", "affine:paragraph", "affine:list", "affine:image", "affine:code"}
	ids := make([]engine.BlockID, 0, n)
	var page, note engine.BlockID
	for len(ids) < n {
		_, err := ws.Transact(ctx, "bench", func(_ *crdt.Txn, b *engine.Blocks) error {
			for k := 0; k < 1000 && len(ids) < n; k++ {
				i := len(ids)
				nb := engine.NewBlock{ID: engine.BlockID(fmt.Sprintf("b%07d", i)), Creator: fmt.Sprintf("user%02d", i%100)}
				switch {
				case i%100 == 0:
					nb.Flavour, nb.Props = "affine:page", map[string]any{"title": engine.RichText{Text: fmt.Sprintf("Page %d", i/100)}}
					page = nb.ID
				case i%20 == 1:
					nb.Flavour, nb.Parent = "affine:note", page
					note = nb.ID
				default:
					nb.Flavour, nb.Parent = flavours[i%len(flavours)], note
					nb.Props = map[string]any{"text": engine.RichText{Text: fmt.Sprintf("paragraph %d of the benchmark workspace", i)}}
					if i%10 == 3 && i > 100 {
						nb.Props["ref"] = map[string]any{"$ref": string(ids[i-100])}
					}
				}
				if _, err := b.Create(nb); err != nil {
					return err
				}
				ids = append(ids, nb.ID)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(ids)%20_000 == 0 || len(ids) == n {
			fmt.Fprintf(progress, "reopen: %d/%d blocks\n", len(ids), n)
		}
	}
	return ids, nil
}

// timeOpen opens the store in dir and reads the workspace, returning the
// time taken and the number of blocks seen.
func timeOpen(ctx context.Context, dir string, opts *engine.Options) (time.Duration, int, error) {
	start := time.Now()
	s, err := engine.Open(dir, opts)
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	ws, err := s.Workspace(ctx, "bench")
	if err != nil {
		return 0, 0, err
	}
	var n int
	err = ws.View(ctx, func(v *engine.ReadView) error { n = v.Len(); return nil })
	return time.Since(start), n, err
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// copyTree copies the regular files under src to dst (the LOCK file is
// copied as a plain file, which is what a crashed store leaves).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
