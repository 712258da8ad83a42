package engine

import (
	"context"
	"fmt"
	"io"
	"time"

	"octobase/oplog"
)

// recordTime returns the timestamp (Unix ns) of the record at lsn.
func recordTime(l *oplog.Log, lsn oplog.LSN) (int64, error) {
	r, err := l.NewReader(lsn)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	rec, err := r.Next()
	if err == io.EOF {
		return 0, fmt.Errorf("engine: no record %d in the log", lsn)
	}
	if err != nil {
		return 0, err
	}
	if rec.LSN != lsn {
		return 0, fmt.Errorf("%w: record %d where %d was expected", ErrBadState, rec.LSN, lsn)
	}
	return rec.Time, nil
}

// nextRecordTime returns the timestamp to log a record with: now, unless
// the clock went back since the previous record, then the previous
// record's time. Record times are therefore non-decreasing in LSN order,
// which LSNAt's binary search relies on.
func (st *wsState) nextRecordTime(now time.Time) int64 {
	if st.lastTime == 0 && st.lsn > 0 {
		if t, err := recordTime(st.log, st.lsn); err == nil {
			st.lastTime = t
		}
	}
	return max(now.UnixNano(), st.lastTime)
}

// LSNAt returns the LSN of the last record logged at or before t: the
// position ReadAt needs to show the workspace as it was at time t. It is 0
// if nothing was logged by then (the empty workspace).
//
// The engine logs record times in non-decreasing LSN order (a clock that
// goes back is clamped to the previous record's time), so LSNAt is a binary
// search over the log: O(log n) record reads, no replay.
// oplog.ErrCompacted if retention dropped the records around t.
func (w *Workspace) LSNAt(ctx context.Context, t time.Time) (oplog.LSN, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	w.touchUsed()
	w.acquire()
	defer w.release()
	var at oplog.LSN
	err := retryClosed(ctx, func() error {
		l, last, _, err := w.openLog()
		if err != nil {
			return err
		}
		want := t.UnixNano()
		lo, hi := l.FirstLSN(), last // invariant: records < lo are at or before t
		if hi < lo {
			at = last
			return nil
		}
		if lo > 1 {
			// Compacted: the first kept record must be at or before t, or
			// the answer may lie in what was dropped.
			ft, err := recordTime(l, lo)
			if err != nil {
				return err
			}
			if ft > want {
				return fmt.Errorf("engine: time %s precedes the oldest kept record %d: %w",
					t.UTC().Format(time.RFC3339Nano), lo, oplog.ErrCompacted)
			}
		}
		for lo <= hi {
			if err := ctx.Err(); err != nil {
				return err
			}
			mid := lo + (hi-lo)/2
			mt, err := recordTime(l, mid)
			if err != nil {
				return err
			}
			if mt <= want {
				lo = mid + 1
			} else {
				hi = mid - 1
			}
		}
		at = lo - 1
		return nil
	})
	return at, err
}

// ReadAtTime is ReadAt at LSNAt(t): the workspace as it was at time t.
func (w *Workspace) ReadAtTime(ctx context.Context, t time.Time) (*ReadView, error) {
	lsn, err := w.LSNAt(ctx, t)
	if err != nil {
		return nil, err
	}
	return w.ReadAt(ctx, lsn)
}
