package oplog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"octobase/oplog/vfs"
)

// A Journal makes the appends of many logs durable with one fsync of one
// file: group commit across logs, for a store whose logs each need an
// fsync per commit (Options.Journal). A log whose commit falls due writes
// its frames to its segment as always, then hands the same bytes, named
// by segment file and offset, to the journal instead of fsyncing the
// segment. The bytes of every log waiting at that moment go into one
// journal write and one fsync (a round); rounds run one at a time, and
// those who arrive while one runs form the next. The segments are fsynced
// later, together, when the journal file is replaced (a checkpoint, after
// JournalOptions.CheckpointSize bytes, and at Close), after which that
// journal file is removed.
//
// OpenJournal first replays what an earlier run left in the journal:
// every intact record is written again at its offset of its segment,
// where the segment does not already hold it, and the segments are
// fsynced, so that a crash loses nothing a journaled commit acknowledged.
// Open the journal, and so replay it, before opening any log it names.
//
// Invariants:
//   - J1. A record is in a journal file that is durable (written and
//     fsynced) before any commit it carries is acknowledged.
//   - J2. Every byte of a segment that precedes a journaled record's offset
//     is durable in the segment, or journaled in an earlier record, of the
//     same or an earlier journal file. (Logs fsync their active segment at
//     Open and at rotation, and journal every byte after that.)
//   - J3. A journal file is removed only after every segment named in it
//     has been fsynced since the file's last record was written, so
//     segments hold, durably, everything the removed file held.
//   - J4. Segments only grow while a journal names them: logs never
//     rewrite a byte, and a segment is removed (compaction) only once
//     sealed, that is, fsynced. Replay skips missing segments.
//
// Layout, in the directory JournalDir of the store's root: files named
// <20-digit generation>.jnl, replayed in generation order. A file is the
// 8-byte magic "OCTOJRNL", then records:
//
//	0  4 body length n (little-endian)
//	4  4 CRC-32C of the body
//	8  n body: uvarint path length, path (slash-separated, relative to the
//	        root), uvarint segment offset, the bytes
//
// The first record that is cut short or fails its checksum ends the file:
// a crash tears only the tail of the newest file, and records after a
// damaged one were never acknowledged by this file alone. The newest file
// may lack its magic (created just before a crash) and is then skipped.
type Journal struct {
	fs     vfs.FS
	root   string
	dir    string
	logger *slog.Logger
	limit  int64
	lock   io.Closer

	mu struct {
		sync.Mutex
		busy    bool
		next    *journalRound
		f       vfs.File
		gen     uint64
		size    int64               // bytes written to f
		alloc   int64               // f's size with the space reserved ahead of the writes
		noAlloc bool                // the filesystem cannot reserve space
		named   map[string]struct{} // segments named by the current file
		ckpt    chan struct{}       // non-nil while a checkpoint runs; closed when it ends
		failed  error
		closed  bool
		scratch []byte
	}
	closeOnce sync.Once
	closeErr  error

	rounds, records, bytes, checkpoints atomic.Int64
}

// JournalDir is the name of the journal's directory under its root, and
// JournalExt the extension of its files.
const (
	JournalDir = "JOURNAL"
	JournalExt = ".jnl"
)

// DefaultCheckpointSize is JournalOptions.CheckpointSize's default.
const DefaultCheckpointSize = 64 << 20

const (
	journalMagic        = "OCTOJRNL"
	journalRecordHeader = 8
	journalMaxRecord    = 1 << 30
	journalReserve      = 1 << 20 // space reserved ahead of the writes
)

// JournalOptions configures a Journal; the zero value (or nil) is valid.
type JournalOptions struct {
	// FS is the filesystem; nil means vfs.Default. The logs that use the
	// journal must use the same one.
	FS vfs.FS
	// CheckpointSize is the size of a journal file at which a new one is
	// started and the segments the old one names are fsynced, so that it
	// can be removed. Zero means DefaultCheckpointSize.
	CheckpointSize int64
	// Logger receives replay and checkpoint reports. Nil discards them.
	Logger *slog.Logger
}

// JournalReplay reports what OpenJournal found.
type JournalReplay struct {
	Files    int   // journal files read
	Records  int   // intact records
	Rewrites int   // records that a segment did not hold and were written again
	Bytes    int64 // bytes written again
	Missing  int   // records naming segments that no longer exist
	Torn     int   // files that ended with a record cut short or damaged
}

// JournalStats counts a Journal's work since OpenJournal.
type JournalStats struct {
	Rounds      int64 // journal fsyncs, each making a round's records durable
	Records     int64 // records written (one per log per round)
	Bytes       int64 // segment bytes journaled
	Checkpoints int64 // journal files replaced and removed
}

// Stats returns the counters.
func (j *Journal) Stats() JournalStats {
	return JournalStats{Rounds: j.rounds.Load(), Records: j.records.Load(), Bytes: j.bytes.Load(), Checkpoints: j.checkpoints.Load()}
}

// Root returns the directory journaled segment paths are relative to.
func (j *Journal) Root() string { return j.root }

// OpenJournal opens the journal of the logs under root, replaying (see
// Journal) and then removing what an earlier run left, and starts a new
// journal file. The journal's directory is locked until Close.
func OpenJournal(root string, opts *JournalOptions) (*Journal, JournalReplay, error) {
	var o JournalOptions
	if opts != nil {
		o = *opts
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.CheckpointSize < 0 {
		return nil, JournalReplay{}, errors.New("oplog: negative CheckpointSize")
	}
	if o.CheckpointSize == 0 {
		o.CheckpointSize = DefaultCheckpointSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	j := &Journal{fs: o.FS, root: root, dir: filepath.Join(root, JournalDir), logger: o.Logger, limit: o.CheckpointSize}
	if err := vfs.MkdirAllDurable(j.fs, j.dir); err != nil {
		return nil, JournalReplay{}, fmt.Errorf("oplog: create %s: %w", j.dir, err)
	}
	lock, err := j.fs.Lock(filepath.Join(j.dir, lockName))
	if err != nil {
		return nil, JournalReplay{}, fmt.Errorf("oplog: lock %s: %w", j.dir, err)
	}
	j.lock = lock
	rep, last, err := j.replay()
	if err != nil {
		lock.Close()
		return nil, rep, err
	}
	f, err := j.create(last + 1)
	if err != nil {
		lock.Close()
		return nil, rep, err
	}
	j.mu.f, j.mu.gen, j.mu.size, j.mu.named = f, last+1, int64(len(journalMagic)), map[string]struct{}{}
	j.mu.alloc = j.mu.size
	return j, rep, nil
}

// journalFiles lists the journal's files in generation order.
func (j *Journal) journalFiles() ([]uint64, error) {
	names, err := j.fs.List(j.dir)
	if err != nil {
		return nil, fmt.Errorf("oplog: list %s: %w", j.dir, err)
	}
	var gens []uint64
	for _, n := range names {
		if g, ok := parseLSNName(n, JournalExt); ok {
			gens = append(gens, uint64(g))
		}
	}
	slices.Sort(gens)
	return gens, nil
}

func (j *Journal) fileName(gen uint64) string {
	return filepath.Join(j.dir, fmt.Sprintf("%020d%s", gen, JournalExt))
}

// replay redoes every journal file, fsyncs the segments it wrote and
// removes the files. It returns the newest generation seen.
func (j *Journal) replay() (JournalReplay, uint64, error) {
	var rep JournalReplay
	gens, err := j.journalFiles()
	if err != nil || len(gens) == 0 {
		return rep, 0, err
	}
	open := map[string]vfs.File{}
	defer func() {
		for _, f := range open {
			f.Close()
		}
	}()
	for i, gen := range gens {
		name := j.fileName(gen)
		data, err := readWhole(j.fs, name)
		if err != nil {
			return rep, 0, fmt.Errorf("oplog: read journal %s: %w", name, err)
		}
		rep.Files++
		if i == len(gens)-1 && len(data) >= len(journalMagic) && string(data[:len(journalMagic)]) != journalMagic {
			// The newest file, created by a checkpoint or an Open that
			// crashed before its magic was durable (zeros or garbage in
			// its place): its first fsync would have made the magic
			// durable, so nothing in it was acknowledged. In an older
			// file a bad magic is damage (parseJournal's error).
			rep.Torn++
			j.logger.Warn("oplog: newest journal file lacks its header (created just before a crash); nothing in it was acknowledged", "file", filepath.Base(name))
			continue
		}
		torn, err := j.replayFile(data, open, &rep)
		if err != nil {
			return rep, 0, fmt.Errorf("oplog: replay journal %s: %w", filepath.Base(name), err)
		}
		if torn {
			rep.Torn++
			j.logger.Info("oplog: journal ends with a torn record (an unacknowledged commit)", "file", filepath.Base(name))
		}
	}
	if err := syncAndClose(open); err != nil {
		return rep, 0, err
	}
	for _, gen := range gens {
		if err := j.fs.Remove(j.fileName(gen)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return rep, 0, fmt.Errorf("oplog: remove replayed journal: %w", err)
		}
	}
	if err := j.fs.SyncDir(j.dir); err != nil {
		return rep, 0, fmt.Errorf("oplog: sync %s: %w", j.dir, err)
	}
	if rep.Rewrites > 0 || rep.Missing > 0 {
		j.logger.Info("oplog: journal replayed", "files", rep.Files, "records", rep.Records,
			"rewritten", rep.Rewrites, "bytes", rep.Bytes, "missing_segments", rep.Missing)
	}
	return rep, gens[len(gens)-1], nil
}

// replayOpenFiles bounds the segments replay keeps open at once.
const replayOpenFiles = 64

// syncAndClose fsyncs and closes the segments replay wrote to, and
// empties open.
func syncAndClose(open map[string]vfs.File) error {
	var first error
	for path, f := range open {
		err := f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil && first == nil {
			first = fmt.Errorf("oplog: sync %s after journal replay: %w", path, err)
		}
		delete(open, path)
	}
	return first
}

func readWhole(fs vfs.FS, name string) ([]byte, error) {
	f, err := fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	data := make([]byte, size)
	n, err := f.ReadAt(data, 0)
	if err != nil && !(errors.Is(err, io.EOF) && int64(n) == size) {
		return nil, err
	}
	return data, nil
}

// journalRecord is one decoded record.
type journalRecord struct {
	path string
	off  int64
	data []byte
}

// parseJournal calls fn for each intact record of a journal file and
// reports whether the file ends with a damaged or partial record (zeros
// after the last record are not one: a file may end with reserved space).
func parseJournal(data []byte, fn func(journalRecord) error) (torn bool, err error) {
	if len(data) < len(journalMagic) {
		return len(data) > 0, nil // created, never fsynced with its magic
	}
	if string(data[:len(journalMagic)]) != journalMagic {
		return false, errors.New("not a journal file (bad magic)")
	}
	p := data[len(journalMagic):]
	for len(p) > 0 {
		if len(p) < journalRecordHeader {
			return !allZero(p), nil
		}
		n := binary.LittleEndian.Uint32(p)
		sum := binary.LittleEndian.Uint32(p[4:])
		if n == 0 && sum == 0 && allZero(p) {
			return false, nil
		}
		if n > journalMaxRecord || int(n) > len(p)-journalRecordHeader {
			return true, nil
		}
		body := p[journalRecordHeader : journalRecordHeader+int(n)]
		if crc32.Checksum(body, castagnoli) != sum {
			return true, nil
		}
		rec, ok := decodeJournalBody(body)
		if !ok {
			return false, errors.New("record with a valid checksum does not decode")
		}
		if err := fn(rec); err != nil {
			return false, err
		}
		p = p[journalRecordHeader+int(n):]
	}
	return false, nil
}

func allZero(p []byte) bool {
	for _, b := range p {
		if b != 0 {
			return false
		}
	}
	return true
}

func decodeJournalBody(body []byte) (journalRecord, bool) {
	plen, k := binary.Uvarint(body)
	if k <= 0 || plen == 0 || plen > uint64(len(body)-k) {
		return journalRecord{}, false
	}
	path := string(body[k : k+int(plen)])
	body = body[k+int(plen):]
	off, k := binary.Uvarint(body)
	if k <= 0 || off > 1<<62 {
		return journalRecord{}, false
	}
	if strings.Contains(path, "\\") || !filepath.IsLocal(filepath.FromSlash(path)) {
		return journalRecord{}, false // replay writes only under the root
	}
	return journalRecord{path: path, off: int64(off), data: body[k:]}, true
}

func appendJournalRecord(dst []byte, path string, off int64, data []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, journalRecordHeader)...)
	dst = binary.AppendUvarint(dst, uint64(len(path)))
	dst = append(dst, path...)
	dst = binary.AppendUvarint(dst, uint64(off))
	dst = append(dst, data...)
	body := dst[start+journalRecordHeader:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(body, castagnoli))
	return dst
}

// replayFile redoes the records of one journal file.
func (j *Journal) replayFile(data []byte, open map[string]vfs.File, rep *JournalReplay) (bool, error) {
	var missing map[string]bool
	return parseJournal(data, func(r journalRecord) error {
		rep.Records++
		f, ok := open[r.path]
		if !ok {
			if missing[r.path] {
				rep.Missing++
				return nil
			}
			var err error
			f, err = j.fs.OpenAppend(filepath.Join(j.root, filepath.FromSlash(r.path)))
			if errors.Is(err, os.ErrNotExist) {
				if missing == nil {
					missing = map[string]bool{}
				}
				missing[r.path] = true // compacted away after it was sealed (J4)
				rep.Missing++
				return nil
			}
			if err != nil {
				return err
			}
			if len(open) >= replayOpenFiles {
				// Stay far from the descriptor limit with a store of many
				// workspaces: sync and close what is open.
				if err := syncAndClose(open); err != nil {
					return err
				}
			}
			open[r.path] = f
		}
		size, err := f.Size()
		if err != nil {
			return err
		}
		if size < r.off {
			return fmt.Errorf("%s ends at %d, before the journaled bytes at %d: the bytes between are lost", r.path, size, r.off)
		}
		if size >= r.off+int64(len(r.data)) {
			have := make([]byte, len(r.data))
			if _, err := f.ReadAt(have, r.off); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			if bytes.Equal(have, r.data) {
				return nil
			}
		}
		if err := f.Truncate(r.off); err != nil {
			return err
		}
		if _, err := f.Write(r.data); err != nil {
			return err
		}
		rep.Rewrites++
		rep.Bytes += int64(len(r.data))
		return nil
	})
}

// create starts journal file gen, durable with its magic and its name.
func (j *Journal) create(gen uint64) (vfs.File, error) {
	name := j.fileName(gen)
	f, err := j.fs.Create(name)
	if err != nil {
		return nil, fmt.Errorf("oplog: create journal: %w", err)
	}
	if _, err := f.Write([]byte(journalMagic)); err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = j.fs.SyncDir(j.dir)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("oplog: create journal %s: %w", filepath.Base(name), err)
	}
	return f, nil
}

type journalRound struct {
	buf   []byte
	paths []string
	lead  chan struct{} // closed to make the round's first caller its leader
	done  chan struct{} // closed when the round's records are durable
	err   error
}

// ErrJournalClosed is returned by commits to a closed Journal.
var ErrJournalClosed = errors.New("oplog: journal closed")

// commit makes data, written at off of the segment at path (relative to
// the root), durable through the journal: it returns once a journal
// write holding it has been fsynced, or with the error that prevented it.
// An error is sticky: the journal refuses commits from then on.
func (j *Journal) commit(path string, off int64, data []byte) error {
	j.mu.Lock()
	if j.mu.failed != nil || j.mu.closed {
		err := j.mu.failed
		j.mu.Unlock()
		if err == nil {
			err = ErrJournalClosed
		}
		return err
	}
	r := j.mu.next
	if r == nil {
		r = &journalRound{lead: make(chan struct{}), done: make(chan struct{})}
		j.mu.next = r
	}
	first := len(r.paths) == 0
	r.buf = appendJournalRecord(r.buf, path, off, data)
	r.paths = append(r.paths, path)
	if first && !j.mu.busy {
		j.mu.busy = true
		close(r.lead)
	}
	j.mu.Unlock()

	if first {
		<-r.lead // the previous round hands over, or we lead at once
		j.run(r)
	}
	<-r.done
	return r.err
}

// run writes and fsyncs round r, starts a checkpoint if the journal file
// is full, then hands the next round, if any, to its first caller.
func (j *Journal) run(r *journalRound) {
	j.mu.Lock()
	if j.mu.next == r {
		j.mu.next = nil // later callers form the next round
	}
	f, failed := j.mu.f, j.mu.failed
	for _, p := range r.paths {
		j.mu.named[p] = struct{}{}
	}
	if !j.mu.noAlloc && j.mu.size+int64(len(r.buf)) > j.mu.alloc {
		// Reserve ahead, as the logs do: an fsync of writes that do not
		// change the file's size is cheaper. Zeros end a journal file.
		target := j.mu.size + int64(len(r.buf)) + min(j.limit, journalReserve)
		if err := f.Allocate(target); err != nil {
			j.mu.noAlloc = true
		} else {
			j.mu.alloc = target
		}
	}
	j.mu.Unlock()

	err := failed
	if err == nil {
		var n int
		n, err = f.Write(r.buf)
		if err == nil && n < len(r.buf) {
			err = io.ErrShortWrite
		}
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			err = j.fail(fmt.Errorf("oplog: journal write: %w", err))
		}
	}
	r.err = err
	j.rounds.Add(1)
	j.records.Add(int64(len(r.paths)))
	j.bytes.Add(int64(len(r.buf)))
	close(r.done)

	j.mu.Lock()
	j.mu.size += int64(len(r.buf))
	full := err == nil && j.mu.size >= j.limit && j.mu.ckpt == nil && !j.mu.closed
	j.mu.Unlock()
	if full {
		j.rotate()
	}

	j.mu.Lock()
	if n := j.mu.next; n != nil {
		close(n.lead) // its first caller is waiting on lead
	} else {
		j.mu.busy = false
	}
	j.mu.Unlock()
}

func (j *Journal) fail(err error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.mu.failed == nil {
		j.mu.failed = fmt.Errorf("%w: %w", ErrFailed, err)
		j.logger.Error("oplog: journal failed; the logs using it refuse appends until the store is reopened", "err", err)
	}
	return j.mu.failed
}

// rotate starts the next journal file and checkpoints the current one in
// the background. It runs as a round's leader, so no round writes
// meanwhile.
func (j *Journal) rotate() {
	j.mu.Lock()
	gen := j.mu.gen + 1
	j.mu.Unlock()
	nf, err := j.create(gen)
	if err != nil {
		j.fail(err)
		return
	}
	j.mu.Lock()
	old, oldGen, named := j.mu.f, j.mu.gen, j.mu.named
	j.mu.f, j.mu.gen, j.mu.size, j.mu.named = nf, gen, int64(len(journalMagic)), map[string]struct{}{}
	j.mu.alloc = j.mu.size
	done := make(chan struct{})
	j.mu.ckpt = done
	j.mu.Unlock()
	go func() {
		defer close(done)
		if err := j.checkpoint(old, oldGen, named); err != nil {
			j.fail(err)
		}
		j.mu.Lock()
		j.mu.ckpt = nil
		j.mu.Unlock()
	}()
}

// checkpoint fsyncs the segments journal file gen names, then removes it
// (J3).
func (j *Journal) checkpoint(f vfs.File, gen uint64, named map[string]struct{}) error {
	if err := f.Close(); err != nil {
		return fmt.Errorf("oplog: close journal: %w", err)
	}
	for path := range named {
		name := filepath.Join(j.root, filepath.FromSlash(path))
		sf, err := j.fs.OpenAppend(name)
		if errors.Is(err, os.ErrNotExist) {
			continue // sealed, fsynced, then compacted away (J4)
		}
		if err == nil {
			err = sf.Sync()
			if cerr := sf.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return fmt.Errorf("oplog: journal checkpoint: sync %s: %w", path, err)
		}
	}
	if err := j.fs.Remove(j.fileName(gen)); err != nil {
		return fmt.Errorf("oplog: journal checkpoint: %w", err)
	}
	if err := j.fs.SyncDir(j.dir); err != nil {
		return fmt.Errorf("oplog: journal checkpoint: %w", err)
	}
	j.checkpoints.Add(1)
	j.logger.Debug("oplog: journal checkpoint", "file", filepath.Base(j.fileName(gen)), "segments", len(named))
	return nil
}

// Close checkpoints the journal, so that it is left empty, and releases
// its directory. Close the logs that use it first: a commit after Close
// fails with ErrJournalClosed. After a failure Close keeps the journal
// files for the next OpenJournal to replay, and returns the failure.
func (j *Journal) Close() error {
	j.closeOnce.Do(func() {
		j.mu.Lock()
		j.mu.closed = true
		for j.mu.busy || j.mu.ckpt != nil {
			// Wait for the running round and checkpoint (rare: logs are
			// closed first).
			ckpt := j.mu.ckpt
			j.mu.Unlock()
			if ckpt != nil {
				<-ckpt
			} else {
				time.Sleep(100 * time.Microsecond)
			}
			j.mu.Lock()
		}
		f, gen, named, err := j.mu.f, j.mu.gen, j.mu.named, j.mu.failed
		j.mu.Unlock()
		if err == nil {
			err = j.checkpoint(f, gen, named)
		} else {
			f.Close()
		}
		if cerr := j.lock.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("oplog: unlock journal: %w", cerr)
		}
		j.closeErr = err
	})
	return j.closeErr
}
