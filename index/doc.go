// Package index keeps the roaring-bitmap indexes of one workspace,
// maintained incrementally from block changes, and hands immutable
// snapshots of them to the query planner.
//
// # What it owns
//
// Row ids: every block id gets a dense RowID (uint32) on first sight — as a
// changed block, a parent or a link target — and keeps it for the life of
// the index. Snapshot.Row and Snapshot.ID translate both ways.
//
// Postings, the indexes of docs/oql.md, section Evaluation, each answered
// as a 32-bit roaring bitmap of rows:
//
//	live, deleted         rows of live / deleted blocks             Live, Deleted
//	flavour[f]            live rows of flavour (type) f             ByFlavour, Flavours
//	creator[u]            live rows created by u                    ByCreator, Creators
//	roots, children[p]    live rows without parent / with parent p  ChildrenOf, DescendantsOf
//	backlinks[t]          live rows linking to t                    LinkingTo
//	links[r]              rows that r links to (a sorted row list)  LinkedFrom, Links
//	created, updated      live rows by UTC hour and UTC day         CreatedRange, UpdatedRange
//
// For the planner interface sketched in docs/oql.md: Type is ByFlavour,
// Children is ChildrenOf ("" gives the roots), Backlinks is LinkingTo,
// Links is LinkedFrom, and TimeRange is CreatedRange / UpdatedRange, which
// take milliseconds since the Unix epoch (the index cannot import query for
// its FieldKind, since query imports index).
//
// Time buckets are UTC hours and days counted from 0000-01-01T00:00:00Z
// (MinTime). A range query returns the live rows of the buckets wholly
// inside the range as exact (whole days, then whole hours at the ends) and
// those of the at most two boundary hours as candidates for a residual
// filter on the block's time; times outside [MinTime, MaxTime] are clamped
// into the first or last bucket, which is never exact.
//
// The package does not own the blocks: the engine converts each changed
// block into a BlockChange (its new state, or its deletion) and calls
// Apply. The index keeps per row what it needs to compute the delta — the
// flavour, creator and parent numbers, the hour buckets, the links — so an
// update costs O(fields that changed) and the engine never sends the old
// state.
//
// # Invariants
//
// Verify checks all of them. In builds with the invariants tag or the race
// detector, Apply also checks each row it changes against the postings.
//
//   - Rows are dense and stable: rows 0 … Rows()-1 each have one distinct,
//     non-empty block id; a row never changes its id and is never reused,
//     not even after its block is deleted (a deleted block that comes back
//     gets its old row).
//   - Every row is live, deleted, or neither (seen only as a parent or link
//     target); live and deleted are disjoint.
//   - Postings are consistent with the per-row state: a live row is in
//     exactly one flavour, one creator, one parent (roots or children[p]),
//     one created-hour and one updated-hour posting, and in the day
//     postings of those hours; a row that is not live is in no posting but
//     deleted, and has no links. Postings are never empty. Exception: a
//     row with a deferred updated move (pending.go) is also still in the
//     updated postings it left, until the move is settled; Verify,
//     Compare and WriteTo see every snapshot settled.
//   - backlinks is exactly the reverse of links; links are sorted, unique.
//   - A block's parent is its Parent field (sys:children is not
//     consulted). Parent cycles, which hostile data may contain, are kept
//     as given; DescendantsOf visits each row at most once and never
//     returns the block it started from, so it terminates on any data.
//
// # Concurrency
//
// One writer, any number of readers. Apply, ApplyAt and ReadFrom run one
// at a time (a mutex; Index.Stats takes it too). Each publishes a new
// *Snapshot through an atomic pointer, open: until a reader takes it, the
// next batch may continue it in place. Index.Snapshot is one atomic load,
// except the first call after a batch, which seals that batch's snapshot
// under the mutex (so it waits for a batch in progress); later calls, and
// readers holding a sealed snapshot, never wait. A Snapshot returned by
// Index.Snapshot is immutable and safe for concurrent use; it stays valid
// and unchanged however long it is held, and keeps alive what it
// references. Bitmaps it returns are read-only (see Snapshot).
//
// # Cost model
//
// Writes are copy-on-write, so that a snapshot a reader took is never
// written:
//
//   - A batch works on a copy of the snapshot struct. Keyed postings sit in
//     persistent 32-way tries: changing a key copies the path to it, at
//     most once per generation (height 4 below 2^20 rows). A batch takes
//     a new generation only if a reader took the snapshot before it;
//     batches nobody read in between share one generation, so what the
//     first of them copied the others write in place, and the same holds
//     for the bitmap containers below ("Open snapshots" in index.go).
//   - A posting of at most 64 rows is a sorted slice, copied whole when it
//     changes. A larger one is a roaring bitmap shared with older snapshots
//     container by container (a container covers 2^16 rows): a batch
//     copies only the containers it changes, each at most once — up to
//     8 KiB for a dense one (see rowset.go; roaring bitmaps are not safe
//     for concurrent use, so a published one is never written).
//   - Block ids live in an append-only dictionary shared by all snapshots:
//     lock-free lookups, never copied.
//
// So a batch read by a query costs O(fields changed) plus one container
// copy per large posting it touches, and the garbage collector's share of
// that: measured on a generated 1M-block workspace (bench_test.go,
// BenchmarkApply/.../read, a 2-core VM), one new
// block alone costs ~80 µs, ~9 µs in batches of 100, ~3.5 µs in batches
// of 1024; moving a block's updated time to another hour costs ~15 µs
// alone, ~6 µs in batches of 100; a change that leaves a block in its
// buckets, or repeats its state, copies nothing. Batch where you can.
// A block leaving a large (bitmap) updated-hour posting stays listed there
// until pendMax such moves are pending, then all are settled at once, so
// each old posting is copied once per settlement, not once per batch
// (pending.go); meanwhile UpdatedRange reports those rows as candidates.
// Batches that no reader separates copy nothing twice: the engine's mix of
// updates on 1M blocks (upkeep_bench_test.go, batches of 1024) costs
// ~5.2 µs per update when nothing reads in between, ~7.8 µs when each
// batch is read (~8.1 µs before open snapshots, read or not).
//
// Reads cost what roaring costs, plus a trie lookup per posting: tens of
// nanoseconds to a couple of microseconds for the children or backlinks of
// one block, tens of microseconds to intersect a flavour with a creator on
// 1M blocks. Memory: ~140 bytes of heap per block at 1M blocks, of which
// ~50 for the id dictionary and ~24 for the writer's per-row state.
//
// # File format (version 1)
//
// WriteTo and ReadFrom persist an index, e.g. beside an engine snapshot at
// the same log position (ApplyAt records it). All fixed-width integers are
// little-endian; CRC-32C is hash/crc32.Castagnoli. Header (32 bytes):
//
//	 0  8  magic "OCTOINDX"
//	 8  4  format version: 1
//	12  4  flags: 0
//	16  8  body length in bytes
//	24  4  CRC-32C of the body
//	28  4  CRC-32C of header bytes [0, 28)
//	32     body
//
// Future versions keep bytes [0, 12) and the header CRC at [28, 32). A
// reader checks magic and header CRC, then the version, so a newer file is
// refused with a *VersionError, never mistaken for damage; then the body
// CRC. Body (uvarint = encoding/binary unsigned varint; string = uvarint
// length and bytes; bitmap = uvarint length and a run-optimized bitmap in
// roaring's portable format, https://github.com/RoaringBitmap/RoaringFormatSpec):
//
//	uvarint   position (ApplyAt's pos)
//	uvarint n, n strings      block ids of rows 0 … n-1
//	uvarint f, f strings      flavour names (term numbers 0 … f-1)
//	uvarint c, c strings      creator names
//	bitmap                    live
//	bitmap                    deleted
//	postings                  flavour (key: term number)
//	postings                  creator (key: term number)
//	|live| uvarints           parent row + 1 of each live row, in row order; 0 for a root
//	uvarint k, k × links      links: uvarint row, uvarint m ≥ 1, m uvarint target rows (ascending)
//	postings                  created hours (key: hours since MinTime)
//	postings                  updated hours
//
// where postings = uvarint count, then count × (uvarint key, bitmap), keys
// strictly ascending, bitmaps non-empty. Roots, children, backlinks and
// day buckets are not stored: ReadFrom derives them, and the per-row state,
// checking every invariant on the way; each bitmap is checked in linear
// time before roaring decodes it. WriteTo is deterministic: equal snapshots
// give equal bytes. testdata/v1.golden pins the layout. A 1M-block index
// is ~26 bytes per block on disk; it writes in ~0.25 s and loads in
// ~0.8 s on the VM above.
package index
