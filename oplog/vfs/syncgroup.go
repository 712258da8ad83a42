package vfs

// SyncAll makes the contents of every file in files durable, as calling
// Sync on each would, in as few system calls as it can: on Linux 5.8 and
// later, the operating-system files that share a filesystem are made
// durable together by one syncfs(2), which writes back everything dirty on
// that filesystem and commits its journal once, instead of one fsync(2)
// (and one journal commit) per file. Elsewhere, and for files of other
// implementations (the in-memory ones), it calls Sync on each. A lone file
// is always synced with Sync.
//
// syncfs also writes back whatever other programs left dirty on the same
// filesystem, so its latency follows theirs; it suits a data directory on
// a filesystem of its own. It reports a writeback error of any file of the
// filesystem (since Linux 5.8, which is why older kernels do not use it),
// so an error is returned to every file synced by that call.
//
// The first error is returned; the files of the other groups are still
// synced.
func SyncAll(files []File) error {
	if len(files) == 1 {
		return files[0].Sync()
	}
	var first error
	note := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	groups := map[uint64][]File{}
	var order []uint64
	for _, f := range files {
		dev, ok := syncfsDevice(f)
		if !ok {
			note(f.Sync())
			continue
		}
		if _, seen := groups[dev]; !seen {
			order = append(order, dev)
		}
		groups[dev] = append(groups[dev], f)
	}
	for _, dev := range order {
		g := groups[dev]
		if len(g) == 1 {
			note(g[0].Sync())
			continue
		}
		note(syncfs(g[0]))
	}
	return first
}
