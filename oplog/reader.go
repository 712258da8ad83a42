package oplog

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"octobase/oplog/vfs"
)

// Reader iterates over the log's records in LSN order, from any LSN, while
// the log is being appended to. It sees a record once it is acknowledged
// (fsynced in SyncAlways mode, written otherwise): exactly the records up
// to Log.LastLSN. A Reader is not safe for concurrent use; use one per
// goroutine.
type Reader struct {
	l    *Log
	next LSN // LSN of the record Next returns next

	// The open segment, if any.
	f        vfs.File
	fr       *frameReader
	segFirst LSN
	segName  string
	off      int64 // offset of the next frame to read
	frameLSN LSN   // first LSN the next frame must have
	sealed   bool  // the segment is no longer active: its size is final

	recs   []Record // decoded records not yet returned
	recBuf []Record
	closed bool
}

// NewReader returns a Reader positioned at from; 0 means the first record
// in the log. from may lie beyond the end: the reader then waits for it.
// It fails with ErrCompacted if from precedes FirstLSN.
func (l *Log) NewReader(from LSN) (*Reader, error) {
	if l.tail.Load().closed {
		return nil, ErrClosed
	}
	first := l.FirstLSN()
	if from == 0 {
		from = first
	}
	if from < first {
		return nil, fmt.Errorf("%w: LSN %d precedes the first record %d", ErrCompacted, from, first)
	}
	return &Reader{l: l, next: from}, nil
}

// Next returns the next record. It returns io.EOF when the reader has caught
// up with the visible end of the log (more records may come: see Wait),
// ErrClosed once the log or the reader is closed, ErrCompacted if the
// records it needs were compacted away, and a *CorruptError for damage.
// The returned Record owns its Data.
func (r *Reader) Next() (Record, error) {
	for {
		if r.closed {
			return Record{}, ErrClosed
		}
		if len(r.recs) > 0 {
			rec := r.recs[0]
			r.recs[0] = Record{}
			r.recs = r.recs[1:]
			r.next = rec.LSN + 1
			return rec, nil
		}
		st := r.l.tail.Load()
		if st.closed {
			return Record{}, ErrClosed
		}
		if r.next > st.lsn {
			return Record{}, io.EOF
		}
		if err := r.fill(st); err != nil {
			return Record{}, err
		}
	}
}

// Wait blocks until Next has a record to return, ctx is done (returning
// ctx.Err()), or the log is closed (returning ErrClosed).
func (r *Reader) Wait(ctx context.Context) error {
	for {
		if r.closed {
			return ErrClosed
		}
		st := r.l.tail.Load()
		if st.closed {
			return ErrClosed
		}
		if len(r.recs) > 0 || r.next <= st.lsn {
			return nil
		}
		select {
		case <-st.changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// NextWait is Next, waiting for a record when the reader has caught up.
func (r *Reader) NextWait(ctx context.Context) (Record, error) {
	for {
		rec, err := r.Next()
		if err != io.EOF {
			return rec, err
		}
		if err := r.Wait(ctx); err != nil {
			return Record{}, err
		}
	}
}

// Close releases the reader's file. It is idempotent.
func (r *Reader) Close() error {
	r.closed = true
	r.recs = nil
	return r.closeFile()
}

func (r *Reader) closeFile() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f, r.fr = nil, nil
	return err
}

// fill decodes the next frame holding r.next into r.recs.
func (r *Reader) fill(st *tailState) error {
	for {
		if r.f == nil {
			if err := r.openSegment(); err != nil {
				return err
			}
		}
		if r.segFirst == st.seg {
			r.fr.limit = st.off
		} else if !r.sealed {
			size, err := r.f.Size()
			if err != nil {
				return fmt.Errorf("oplog: reader: %w", err)
			}
			r.sealed, r.fr.limit = true, size
		}
		if r.off >= r.fr.limit {
			if !r.sealed {
				// Cannot happen: st says r.next is visible in this segment.
				return fmt.Errorf("oplog: reader: LSN %d not found in %s", r.next, r.segName)
			}
			if err := r.closeFile(); err != nil {
				return err
			}
			continue // on to the segment holding r.next
		}
		h, hdr, payload, err := r.fr.frameAt(r.off)
		if err != nil {
			if isFormatErr(err) {
				return corruptf(r.segName, r.off, err, "")
			}
			return fmt.Errorf("oplog: reader: %s at %d: %w", r.segName, r.off, err)
		}
		if h.firstLSN != r.frameLSN {
			return corruptf(r.segName, r.off, errFrameHeader, "LSN gap: frame starts at %d, want %d", h.firstLSN, r.frameLSN)
		}
		off := r.off
		r.off += h.size()
		r.frameLSN = h.lastLSN() + 1
		if h.lastLSN() < r.next {
			continue // skip without decompressing
		}
		recs, err := decodeFrame(r.recBuf[:0], &h, hdr, payload, maxFrameRaw)
		if err != nil {
			return corruptf(r.segName, off, err, "")
		}
		r.recBuf = recs
		r.recs = recs[r.next-h.firstLSN:]
		return nil
	}
}

// openSegment opens the segment holding r.next.
func (r *Reader) openSegment() error {
	segs := r.l.segmentsSnapshot()
	i := len(segs) - 1
	for i >= 0 && segs[i].first > r.next {
		i--
	}
	if i < 0 {
		return fmt.Errorf("%w: LSN %d precedes the first record %d", ErrCompacted, r.next, segs[0].first)
	}
	seg := segs[i]
	name := seg.name()
	f, err := r.l.fs.Open(filepath.Join(r.l.dir, name))
	if err != nil {
		if vfs.IsNotExist(err) {
			return fmt.Errorf("%w: segment %s was removed", ErrCompacted, name)
		}
		return fmt.Errorf("oplog: reader: %w", err)
	}
	r.f, r.segFirst, r.segName, r.sealed = f, seg.first, name, false
	r.fr = newFrameReader(f, name, segmentHeaderSize)
	r.off, r.frameLSN = segmentHeaderSize, seg.first
	return nil
}

// Tail calls fn for every record from LSN from (0: the first) on, waiting
// for new records as they are acknowledged, until fn returns an error
// (returned as is), ctx is done (ctx.Err()) or the log is closed
// (ErrClosed). It is the building block for change streams.
func (l *Log) Tail(ctx context.Context, from LSN, fn func(Record) error) error {
	r, err := l.NewReader(from)
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		rec, err := r.NextWait(ctx)
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}
