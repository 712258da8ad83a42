package index

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
)

var upkeepRows = flag.Int("upkeep.rows", 1_000_000, "rows in BenchmarkUpkeep's index")

// BenchmarkUpkeep reproduces the index work of the maintenance step of
// octobase bench query without the engine: blocks created 2,000 an hour
// (the generator's transactions, an hour apart) in pages of 200, then
// updates that stamp the current time on random blocks, in turn: a new
// block under a random block (2 changes), a title set (1), a block moved
// to a random page (3: it, its old parent, the page); the changes queued
// in batches of 1024 as the engine queues them. "live" applies them to the
// index as built change by change (what the engine maintains) with no
// reader in between (each batch continues the last one's open snapshot),
// "live-read" takes a snapshot after every batch, "loaded"
// to the same index written and read back (run-optimized postings, what
// octobase bench query measures), "cold" is "live" with the processor's
// caches flushed (a 64 MiB buffer written, untimed) before every batch, as
// the engine's own work between two batches flushes them. ns/update is the index's cost per
// update, ns/change per changed block.
//
//	go test -run '^$' -bench Upkeep -benchtime 20000x ./index
func BenchmarkUpkeep(b *testing.B) {
	var thrash []byte
	for _, mode := range []string{"live", "live-read", "loaded", "cold"} {
		b.Run(mode, func(b *testing.B) {
			ix, state, now := upkeepWorld(b)
			if mode == "loaded" {
				var buf bytes.Buffer
				if _, err := ix.Snapshot().WriteTo(&buf); err != nil {
					b.Fatal(err)
				}
				ix = New()
				if _, err := ix.ReadFrom(&buf); err != nil {
					b.Fatal(err)
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			var pending []BlockChange
			changes, updates := 0, 0
			stamp := func(i int, same Fields) { // same: what the engine promises
				state[i].Updated = now
				c := state[i]
				c.Same = same
				pending = append(pending, c)
			}
			b.ReportAllocs()
			for b.Loop() {
				i := rng.IntN(len(state))
				switch updates % 3 {
				case 0:
					c := BlockChange{ID: fmt.Sprint("new-", updates), Flavour: "affine:paragraph", Creator: "user-001",
						Parent: state[i].ID, Created: now, Updated: now}
					pending = append(pending, c)
					stamp(i, SameAll)
				case 1:
					stamp(i, SameAll)
				default:
					if state[i].Parent != "" {
						old := state[i].Parent
						page := rng.IntN(len(state)/200) * 200
						state[i].Parent = state[page].ID
						stamp(i, SameAll&^SameParent)
						stamp(page, SameAll)
						var oi int
						fmt.Sscanf(old, "blk-%d", &oi)
						stamp(oi, SameAll)
					}
				}
				updates++
				if len(pending) >= 1024 {
					changes += len(pending)
					if err := ix.Apply(pending); err != nil {
						b.Fatal(err)
					}
					if mode == "live-read" {
						ix.Snapshot()
					}
					if mode == "cold" {
						// What the engine does between two batches (1024
						// changes: some 400 transactions of CRDT work)
						// leaves little of the index in the caches.
						b.StopTimer()
						if thrash == nil {
							thrash = make([]byte, 64<<20)
						}
						for j := 0; j < len(thrash); j += 64 {
							thrash[j]++
						}
						b.StartTimer()
					}
					pending = pending[:0]
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(changes, 1)), "ns/change")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(updates, 1)), "ns/update")
		})
	}
}

func upkeepWorld(b *testing.B) (*Index, []BlockChange, int64) {
	rows := *upkeepRows
	ix := New()
	base := int64(1_735_689_600_000) // 2025-01-01
	batch := make([]BlockChange, 0, 2000)
	state := make([]BlockChange, 0, rows)
	for i := 0; i < rows; i++ {
		h := int64(i/2000+1) * hourMs
		c := BlockChange{ID: fmt.Sprintf("blk-%07d", i), Flavour: "affine:paragraph", Creator: fmt.Sprint("user-", i%100),
			Created: base + h, Updated: base + h}
		if i%200 != 0 {
			c.Parent = fmt.Sprintf("blk-%07d", i-i%200+rand.IntN(i%200))
		}
		state = append(state, c)
		batch = append(batch, c)
		if len(batch) == cap(batch) {
			if err := ix.Apply(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := ix.Apply(batch); err != nil {
		b.Fatal(err)
	}
	return ix, state, base + int64(rows/2000+2)*hourMs
}
