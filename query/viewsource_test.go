package query

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"octobase/engine"
	"octobase/oplog"
)

// TestEngineIndexModel runs random statements over a randomly edited
// engine workspace, now and AS OF random earlier positions, through the
// index the engine maintains (FromView, NewViewSource over Workspace.View,
// and ReadAt views for AS OF), and requires the scan's results. It also
// checks that the sources use the engine's index as of the view's LSN
// rather than building their own.
func TestEngineIndexModel(t *testing.T) {
	seed := *modelSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -model.seed=%d)", seed, seed)
	ctx := context.Background()
	for i := uint64(0); i < 3; i++ {
		s := seed + i
		g := modelGen{rand.New(rand.NewPCG(s, 5))}
		clock := time.UnixMilli(base)
		st, err := engine.Open(t.TempDir(), &engine.Options{IdleTimeout: -1, SnapshotRecords: 9, Clock: func() time.Time { return clock }})
		if err != nil {
			t.Fatal(err)
		}
		ws, err := st.Workspace(ctx, "w")
		if err != nil {
			t.Fatal(err)
		}
		ed := &editor{g: g, ws: ws, clock: &clock}
		for range 60 {
			ed.edit(t)
		}
		last, _ := ws.LastLSN(ctx)
		src, err := NewWorkspaceSource(ctx, ws)
		if err != nil {
			t.Fatal(err)
		}
		if ix := src.Index(); ix == nil || ix.Position() != uint64(last) {
			t.Fatalf("NewWorkspaceSource index %v, want the engine's at %d", ix, last)
		}
		checked := 0
		for q := 0; q < 150; q++ {
			sel := g.sel()
			Inspect(sel, func(n Node) bool {
				if l, ok := n.(*Literal); ok && l.Kind == KindString && len(l.Str) == 1 && len(ed.ids) > 0 {
					l.Str = string(ed.ids[g.IntN(len(ed.ids))])
				}
				return true
			})
			if q%3 == 0 {
				sel.AsOf = &Literal{Kind: KindInt, Int: int64(g.IntN(int(last) + 1))}
			}
			text := Format(sel)
			stmt, err := Parse(text)
			if err != nil {
				continue
			}
			var want *Result
			if sel.AsOf != nil {
				v, err := ws.ReadAt(ctx, oplog.LSN(sel.AsOf.(*Literal).Int))
				if err != nil {
					t.Fatal(err)
				}
				now := *stmt.(*Select)
				now.AsOf = nil
				want, err = execScan(ctx, &now, FromView(v).WithoutIndex())
				if err != nil {
					t.Fatal(err)
				}
			} else if want, err = execScan(ctx, stmt, src.WithoutIndex()); err != nil {
				t.Fatal(err)
			}
			got, err := Exec(ctx, stmt, src)
			if err != nil {
				t.Fatalf("seed %d: %s: %v", s, text, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d: %s\nindexed: %v\nscan:    %v", s, text, got.Rows, want.Rows)
			}
			if sel.AsOf == nil {
				err = ws.View(ctx, func(v *engine.ReadView) error {
					got, err := Exec(ctx, stmt, NewViewSource(v))
					if err != nil {
						return err
					}
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("seed %d: %s over the live view\nindexed: %v\nscan:    %v", s, text, got.Rows, want.Rows)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			checked++
		}
		if checked < 100 {
			t.Fatalf("only %d statements checked", checked)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
