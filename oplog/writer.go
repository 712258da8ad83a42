package oplog

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"time"

	"octobase/oplog/vfs"
)

// batch is a group of appends committed together: one write, and in
// SyncAlways mode one fsync.
type batch struct {
	frames  []*pendingFrame
	waiters int  // Append/AppendBatch calls waiting on the batch
	sync    bool // fsync even if the mode does not ask for it (Sync, Close)
	done    chan struct{}
	err     error // set before done is closed
}

// pendingFrame is a frame's uncompressed payload being filled by appends.
//
// When a record no longer fits, the frame is sealed and the appender that
// sealed it compresses it into enc outside the lock (in parallel with other
// appenders and with the committer's fsync of the previous batch), then
// calls encoded.Done. The committer compresses only the last, unsealed
// frame of a batch itself.
type pendingFrame struct {
	raw      []byte
	first    LSN
	count    int
	prevTime int64
	maxTime  int64

	sealed  bool
	encoded sync.WaitGroup
	enc     []byte // the complete encoded frame, once encoded

	// A large record gets a frame of its own, encoded entirely outside the
	// lock by its appender: own holds it (Data is the caller's, valid until
	// its Append returns, which is after encoding), ownCRC its dataCRC.
	own    *Record
	ownCRC uint32
}

var framePool = sync.Pool{New: func() any { return new(pendingFrame) }}

func newPendingFrame(first LSN) *pendingFrame {
	f := framePool.Get().(*pendingFrame)
	f.raw, f.first, f.count, f.prevTime, f.maxTime = f.raw[:0], first, 0, 0, math.MinInt64
	f.sealed, f.enc, f.own = false, f.enc[:0], nil
	return f
}

// encode compresses a sealed frame; called by the appender that sealed it.
func (f *pendingFrame) encode(c codec) {
	if r := f.own; r != nil {
		f.raw = appendRecord(f.raw[:0], f.first, f.maxTime, r.Origin, r.Data, f.ownCRC, 0)
		f.own = nil
	}
	f.enc = appendFrame(f.enc[:0], c, f.raw, f.first, f.count, f.maxTime)
	f.encoded.Done()
}

func releasePendingFrame(f *pendingFrame) {
	if f.sealed {
		f.encoded.Wait() // its appender may still be encoding it
	}
	if cap(f.raw) > 1<<20 {
		f.raw = nil // do not pin large buffers
	}
	if cap(f.enc) > 1<<20 {
		f.enc = nil
	}
	framePool.Put(f)
}

// addLocked adds a record to the batch and returns the frames it sealed
// (appended to sealed), which the caller must encode after releasing the
// lock. A record goes into the batch's last open frame, or a new one when
// that frame is full; its encoding there is the only work appenders do under
// the lock. A large record (≥ frameSize/ownFrameDiv encoded) instead gets a
// sealed frame of its own, encoded entirely outside the lock.
func (b *batch) addLocked(sealed []*pendingFrame, lsn LSN, t int64, rec *Record, dcrc uint32, frameSize int) []*pendingFrame {
	var f *pendingFrame
	if n := len(b.frames); n > 0 && !b.frames[n-1].sealed {
		f = b.frames[n-1]
	}
	size := encodedRecordLen(rec)
	if f != nil && (f.count == maxFrameRecords || len(f.raw)+size > frameSize || size >= frameSize/ownFrameDiv) {
		f.sealed = true
		f.encoded.Add(1)
		sealed = append(sealed, f)
		f = nil
	}
	if f == nil {
		f = newPendingFrame(lsn)
		b.frames = append(b.frames, f)
	}
	if size >= frameSize/ownFrameDiv {
		f.own, f.ownCRC = rec, dcrc
		f.prevTime, f.maxTime, f.count = t, t, 1
		f.sealed = true
		f.encoded.Add(1)
		return append(sealed, f)
	}
	f.raw = appendRecord(f.raw, lsn, t, rec.Origin, rec.Data, dcrc, f.prevTime)
	f.prevTime, f.maxTime = t, max(f.maxTime, t)
	f.count++
	return sealed
}

// ownFrameDiv: records of at least FrameSize/ownFrameDiv bytes get their own
// frame. They are blocks big enough to compress well alone, and copying
// them under the lock would serialize appenders.
const ownFrameDiv = 4

func (l *Log) pendingLocked() *batch {
	if l.mu.pending == nil {
		l.mu.pending = &batch{done: make(chan struct{})}
	}
	return l.mu.pending
}

func (l *Log) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Append appends rec and returns its LSN once the Durability mode is met:
// in SyncAlways mode after the record is fsynced, otherwise after it is
// written to the file. Concurrent appends share writes and fsyncs.
//
// If ctx is done first, Append returns ctx.Err(); the record may still be
// written (its LSN was assigned). An Append that returns any error may or
// may not be found in the log after a crash or reopen, as with any
// database whose commit outcome is unknown.
func (l *Log) Append(ctx context.Context, rec Record) (LSN, error) {
	recs := [1]Record{rec}
	return l.AppendBatch(ctx, recs[:])
}

// AppendBatch appends recs with contiguous LSNs and returns the first LSN,
// once the Durability mode is met for all of them. The batch is not atomic
// across a crash: a prefix of it may survive. See Append for ctx and errors.
func (l *Log) AppendBatch(ctx context.Context, recs []Record) (LSN, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	p, err := l.begin(recs)
	if err != nil {
		return 0, err
	}
	return p.Wait(ctx)
}

// Pending is an append whose LSN is assigned and whose record is queued
// for the committer, but whose durability is not known yet: Wait says.
type Pending struct {
	b     *batch
	first LSN
}

// PendingDone returns a Pending that is already durable at lsn: its Wait
// returns lsn at once.
func PendingDone(lsn LSN) Pending { return Pending{b: doneBatch, first: lsn} }

var doneBatch = func() *batch {
	b := &batch{done: make(chan struct{})}
	close(b.done)
	return b
}()

// LSN is the LSN assigned to the (first) record.
func (p Pending) LSN() LSN { return p.first }

// Wait returns the LSN once the Durability mode is met for the record, or
// the append's error, like Append. Pendings complete in LSN order: when
// Wait returns nil, every record before this one is durable too. If ctx is
// done first, Wait returns ctx.Err() and the record may still be written;
// Wait may be called again.
func (p Pending) Wait(ctx context.Context) (LSN, error) {
	select {
	case <-p.b.done:
	case <-ctx.Done():
		select {
		case <-p.b.done:
		default:
			return 0, ctx.Err()
		}
	}
	if p.b.err != nil {
		return 0, p.b.err
	}
	return p.first, nil
}

// AppendAsync assigns rec its LSN and queues it for the committer without
// waiting for durability: Pending.Wait does that. It lets a caller that
// must order appends under its own lock (the engine integrates updates and
// logs them in the same order) release that lock before the fsync, so
// concurrent callers share it (group commit). rec.Data must not be
// modified until Wait returns. Errors are those of Append that are known
// before the write: record too large, origin too long, log closed or
// failed.
func (l *Log) AppendAsync(rec Record) (Pending, error) {
	recs := []Record{rec}
	return l.begin(recs)
}

// begin validates recs, assigns their LSNs and adds them to the pending
// batch, waking the committer if enough appenders are waiting.
func (l *Log) begin(recs []Record) (Pending, error) {
	var one [1]uint32
	crcs := one[:]
	if len(recs) > 1 {
		crcs = make([]uint32, len(recs))
	}
	var now int64
	for i := range recs {
		r := &recs[i]
		if len(r.Data) > l.opts.MaxRecordSize {
			return Pending{}, fmt.Errorf("%w: %d bytes, limit %d", ErrRecordTooLarge, len(r.Data), l.opts.MaxRecordSize)
		}
		if len(r.Origin) > MaxOriginLen {
			return Pending{}, fmt.Errorf("%w: %d bytes, limit %d", ErrOriginTooLong, len(r.Origin), MaxOriginLen)
		}
		if r.Time == 0 && now == 0 {
			now = l.opts.Clock().UnixNano()
		}
		crcs[i] = dataCRC(r.Data)
	}

	l.mu.Lock()
	switch {
	case l.mu.closing:
		l.mu.Unlock()
		return Pending{}, ErrClosed
	case l.mu.failed != nil:
		err := l.mu.failed
		l.mu.Unlock()
		return Pending{}, err
	}
	b := l.pendingLocked()
	first := l.mu.next
	var sealedBuf [4]*pendingFrame
	sealed := sealedBuf[:0]
	for i := range recs {
		t := recs[i].Time
		if t == 0 {
			t = now
		}
		sealed = b.addLocked(sealed, l.mu.next, t, &recs[i], crcs[i], l.opts.FrameSize)
		l.mu.next++
	}
	b.waiters++
	kick := b.waiters >= l.mu.gather
	l.mu.Unlock()
	for _, f := range sealed {
		f.encode(l.codec)
	}
	if kick {
		l.wake()
	}
	return Pending{b: b, first: first}, nil
}

// Sync fsyncs every record appended so far, whatever the Durability mode.
func (l *Log) Sync() error {
	l.mu.Lock()
	switch {
	case l.mu.closing:
		l.mu.Unlock()
		return ErrClosed
	case l.mu.failed != nil:
		err := l.mu.failed
		l.mu.Unlock()
		return err
	}
	b := l.pendingLocked()
	b.sync = true
	l.mu.Unlock()
	l.wake()
	<-b.done
	return b.err
}

// Group commit gathering. After an fsync that released k > 1 appenders while
// p appenders were already pending, the committer waits for k+p appenders
// to be pending before it starts the next write, but no longer than
// 1/gatherFraction of the last fsync's duration (and maxGatherWait).
// Without this, appenders released by one fsync trickle back after the
// committer has started the next fsync with those that were pending, and
// closed-loop writers settle into two groups taking turns: half the records
// per fsync that the concurrency allows. Counting only k is not enough
// either: it keeps the two groups apart.
const (
	gatherFraction = 4 // wait at most 1/gatherFraction of the last fsync
	maxGatherWait  = time.Millisecond
)

// run is the committer goroutine: it takes the pending batch, writes it,
// fsyncs as the mode requires, publishes the new tail and releases the
// appenders; in SyncInterval mode it also runs the fsync timer.
func (l *Log) run() {
	defer close(l.done)
	syncTimer := newStoppedTimer()
	gatherTimer := newStoppedTimer()
	defer syncTimer.Stop()
	defer gatherTimer.Stop()
	syncArmed := false
	for {
		select {
		case <-l.kick:
		case <-gatherTimer.C:
		case <-syncTimer.C:
			syncArmed = false
			if l.w.dirty && l.failedErr() == nil {
				if err := l.syncActive(); err != nil {
					l.fail(err)
				}
			}
			continue
		}
		l.mu.Lock()
		b, closing, failed := l.mu.pending, l.mu.closing, l.mu.failed
		l.mu.pending, l.mu.gather = nil, 0
		l.mu.Unlock()
		gatherTimer.Stop()
		synced := false
		if b != nil {
			synced = l.commit(b, failed) // with closing set, b is Close's final batch
		}
		if closing {
			return
		}
		if b == nil {
			continue
		}
		if synced && b.waiters > 1 {
			// Wait for the appenders just released to come back and join
			// those already pending, unless a Sync or Close is waiting.
			l.mu.Lock()
			p := l.mu.pending
			if p == nil || !p.sync {
				l.mu.gather = b.waiters
				if p != nil {
					l.mu.gather += p.waiters
				}
				gatherTimer.Reset(min(l.w.lastSyncDur/gatherFraction, maxGatherWait))
				// Appenders that joined during the fsync left a wake-up
				// behind; the gather target replaces it.
				select {
				case <-l.kick:
				default:
				}
			}
			l.mu.Unlock()
		}
		if l.opts.Durability == SyncInterval && l.w.dirty && !syncArmed {
			syncTimer.Reset(l.opts.SyncInterval - time.Since(l.w.lastSync))
			syncArmed = true
		}
	}
}

func newStoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// commit writes, fsyncs and publishes a batch, then releases its appenders.
// It reports whether it fsynced.
func (l *Log) commit(b *batch, failed error) (synced bool) {
	if failed != nil {
		l.finish(b, failed)
		return false
	}
	err := l.writeBatch(b)
	if err == nil && l.w.dirty && (b.sync || l.opts.Durability == SyncAlways) {
		err, synced = l.syncActive(), true
	}
	if err != nil {
		l.finish(b, l.fail(err))
		return false
	}
	if len(b.frames) > 0 {
		l.publish()
	}
	l.finish(b, nil)
	return synced
}

func (l *Log) finish(b *batch, err error) {
	for _, f := range b.frames {
		releasePendingFrame(f)
	}
	b.frames = nil
	b.err = err
	close(b.done)
}

// fail records the first I/O failure; the log refuses appends from then on.
func (l *Log) fail(err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.failed == nil {
		l.mu.failed = fmt.Errorf("%w: %w", ErrFailed, err)
		l.opts.Logger.Error("oplog: write failed; the log refuses appends until reopened", "err", err)
	}
	return l.mu.failed
}

func (l *Log) failedErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.failed
}

// writeBatch compresses the batch's frames and writes them, rotating to a
// new segment when a frame would push a non-empty segment past SegmentSize.
// It issues one write per segment touched.
func (l *Log) writeBatch(b *batch) error {
	buf := l.w.buf[:0]
	var bufLast LSN
	bufMax := int64(math.MinInt64)
	for _, pf := range b.frames {
		start := len(buf)
		if pf.sealed {
			pf.encoded.Wait()
			buf = append(buf, pf.enc...)
		} else {
			buf = appendFrame(buf, l.codec, pf.raw, pf.first, pf.count, pf.maxTime)
		}
		l.stats.rawBytes.Add(int64(len(pf.raw)))
		if before := l.w.size + int64(start); before > segmentHeaderSize && before+int64(len(buf)-start) > l.opts.SegmentSize {
			if err := l.writeOut(buf[:start], bufLast, bufMax); err != nil {
				return err
			}
			if err := l.rotate(pf.first); err != nil {
				return err
			}
			buf = buf[:copy(buf, buf[start:])]
			bufMax = math.MinInt64
		}
		bufLast, bufMax = pf.first+LSN(pf.count)-1, max(bufMax, pf.maxTime)
		l.stats.frames.Add(1)
		l.stats.records.Add(int64(pf.count))
	}
	err := l.writeOut(buf, bufLast, bufMax)
	if cap(buf) > 4<<20 {
		buf = nil
	}
	l.w.buf = buf[:0]
	return err
}

// writeOut writes whole frames ending with LSN last to the active segment.
func (l *Log) writeOut(p []byte, last LSN, maxTime int64) error {
	if len(p) == 0 {
		return nil
	}
	l.reserve(int64(len(p)))
	n, err := l.w.f.Write(p)
	if l.opts.Journal != nil {
		l.w.jbuf = append(l.w.jbuf, p[:n]...)
	}
	l.w.size += int64(n)
	l.stats.bytes.Add(int64(n))
	if n > 0 {
		l.w.dirty = true
	}
	if err == nil && n < len(p) {
		err = fmt.Errorf("short write (%d of %d bytes)", n, len(p))
	}
	if err != nil {
		return fmt.Errorf("oplog: write %s: %w", segmentName(l.w.first), err)
	}
	l.w.last, l.w.maxTime = last, max(l.w.maxTime, maxTime)
	return nil
}

// syncActive makes everything written to the active segment durable: it
// fsyncs the segment, or with a journal journals the bytes written since
// the last fsync or journal commit.
func (l *Log) syncActive() error {
	return l.syncSegment(l.opts.Journal == nil)
}

// syncSegment makes the active segment durable: through the journal
// unless fsync is set or there is none, else by fsyncing it.
func (l *Log) syncSegment(fsync bool) error {
	start := time.Now()
	var err error
	switch {
	case !fsync && l.opts.Journal != nil:
		if len(l.w.jbuf) > 0 {
			err = l.opts.Journal.commit(l.w.jpath, l.w.jstart, l.w.jbuf)
		}
	case l.opts.Syncer != nil:
		err = l.opts.Syncer.Sync(l.w.f)
	default:
		err = l.w.f.Sync()
	}
	if err != nil {
		if !fsync && l.opts.Journal != nil {
			return fmt.Errorf("oplog: journal %s: %w", segmentName(l.w.first), err)
		}
		return fmt.Errorf("oplog: fsync %s: %w", segmentName(l.w.first), err)
	}
	now := time.Now()
	if fsync || l.opts.Journal == nil {
		l.countSync()
	}
	l.w.jstart += int64(len(l.w.jbuf))
	if cap(l.w.jbuf) > 1<<20 {
		l.w.jbuf = nil
	}
	l.w.jbuf = l.w.jbuf[:0]
	l.w.lastSyncDur = now.Sub(start)
	l.w.dirty, l.w.lastSync = false, now
	l.durable.Store(uint64(l.w.last))
	return nil
}

// journalSegment starts journaling the active segment, whose first record
// is first, from offset off on: everything before off is durable in it
// (J2).
func (l *Log) journalSegment(first LSN, off int64) error {
	j := l.opts.Journal
	if j == nil {
		return nil
	}
	rel, err := filepath.Rel(j.Root(), filepath.Join(l.dir, segmentName(first)))
	if err != nil || !filepath.IsLocal(rel) {
		return fmt.Errorf("oplog: %s is not under the journal's root %s", l.dir, j.Root())
	}
	l.w.jpath, l.w.jstart, l.w.jbuf = filepath.ToSlash(rel), off, l.w.jbuf[:0]
	return nil
}

// rotate seals the active segment and starts a new one whose first record
// will be first. The sealed segment is fsynced first: recovery accepts a
// torn tail only in the last segment, so no segment may be created while an
// older one could still be torn.
func (l *Log) rotate(first LSN) error {
	if err := l.unreserve(); err != nil {
		return err
	}
	if l.w.dirty || l.opts.Journal != nil {
		// An fsync even with a journal: recovery accepts a torn tail
		// only in the last segment, and a sealed segment needs nothing
		// from the journal (J4).
		if err := l.syncSegment(true); err != nil {
			return err
		}
	}
	if err := l.w.f.Close(); err != nil {
		return fmt.Errorf("oplog: close %s: %w", segmentName(l.w.first), err)
	}
	l.w.f = nil
	f, err := createSegmentFile(l.fs, l.dir, first)
	if err != nil {
		return err
	}
	l.countSync()
	l.stats.bytes.Add(segmentHeaderSize)
	sealed := segmentInfo{first: l.w.first, last: l.w.last, size: l.w.size, maxTime: l.w.maxTime}
	l.mu.Lock()
	l.mu.segments[len(l.mu.segments)-1] = sealed
	l.mu.segments = append(l.mu.segments, segmentInfo{first: first, last: first - 1, size: segmentHeaderSize, maxTime: math.MinInt64})
	l.mu.Unlock()
	l.w.f, l.w.first, l.w.last, l.w.size, l.w.maxTime, l.w.dirty = f, first, first-1, segmentHeaderSize, math.MinInt64, false
	l.w.alloc = segmentHeaderSize
	if err := l.journalSegment(first, segmentHeaderSize); err != nil {
		return err
	}
	l.opts.Logger.Debug("oplog: rotated", "sealed", sealed.name(), "next", filepath.Base(segmentName(first)))
	return nil
}

// reserveMin and reserveMax bound how far ahead of the writes the active
// segment's space is reserved (vfs.File.Allocate): an eighth of what the
// segment holds, so that the many small logs of a server's open
// workspaces hold little disk while a busy log extends its reservation
// rarely (each extension makes one fsync record a new size). Appends
// inside reserved space do not change the file's size, so their fsync
// has no size to record, which costs about 40% less CPU and time on Linux
// (ext4).
const (
	reserveMin = 64 << 10
	reserveMax = 1 << 20
)

// reserve makes sure the active segment has room reserved for n more
// bytes, reserving the next chunk if not. A filesystem that cannot
// reserve is not asked again: the log appends as before.
func (l *Log) reserve(n int64) {
	if l.w.noAlloc || l.w.size+n <= l.w.alloc {
		return
	}
	target := l.w.size + n + min(max(l.w.size/8, reserveMin), reserveMax, l.opts.SegmentSize)
	if err := l.w.f.Allocate(target); err != nil {
		// Not a failure of the log: the write itself tells whether there
		// is room (a nearly full disk may take the frames, not the chunk).
		l.w.noAlloc = true
		if !errors.Is(err, vfs.ErrUnsupported) {
			l.opts.Logger.Warn("oplog: cannot reserve space ahead of the writes; appending without", "segment", segmentName(l.w.first), "err", err)
		}
		return
	}
	l.w.alloc = target
	l.w.dirty = true // the new size is durable after the next fsync
}

// unreserve cuts the zeros reserved past the active segment's data, so
// that a sealed segment, or the active one of a closed log, ends with its
// last frame; the cut is durable after the next fsync.
func (l *Log) unreserve() error {
	if l.w.alloc <= l.w.size {
		return nil
	}
	if err := l.w.f.Truncate(l.w.size); err != nil {
		return l.fail(fmt.Errorf("oplog: cut reserved space of %s: %w", segmentName(l.w.first), err))
	}
	l.w.alloc, l.w.dirty = l.w.size, true
	return nil
}

// publish makes everything written so far visible to readers and LastLSN.
func (l *Log) publish() {
	l.mu.Lock()
	l.mu.segments[len(l.mu.segments)-1] = segmentInfo{first: l.w.first, last: l.w.last, size: l.w.size, maxTime: l.w.maxTime}
	l.mu.Unlock()
	old := l.tail.Load()
	l.tail.Store(&tailState{lsn: l.w.last, seg: l.w.first, off: l.w.size, changed: make(chan struct{})})
	close(old.changed)
}

// countSync counts one fsync of a segment file (Stats.Syncs and
// Options.SyncCount).
func (l *Log) countSync() {
	l.stats.syncs.Add(1)
	if c := l.opts.SyncCount; c != nil {
		c.Add(1)
	}
}
