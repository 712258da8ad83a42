package vfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
)

// TempExt is the extension of the temporary file WriteFileAtomic writes
// before renaming it into place. A crash can leave one behind; it is never
// read, and the next write of the same file replaces it.
const TempExt = ".tmp"

// WriteFileAtomic replaces the file at path so that a crash leaves either
// the old file or the whole new one: it writes path+TempExt with write,
// fsyncs and closes it, renames it to path and, with syncDir, fsyncs the
// directory, which makes the rename durable. A caller writing several files
// of one directory may pass false and call SyncDir once at the end. On an
// error the temporary file is removed and the old file, if any, is left.
func WriteFileAtomic(fs FS, path string, write func(w io.Writer) error, syncDir bool) error {
	tmp := path + TempExt
	f, err := fs.Create(tmp)
	if err != nil {
		return err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.Rename(tmp, path)
	}
	if err == nil && syncDir {
		err = fs.SyncDir(filepath.Dir(path))
	}
	if err != nil {
		fs.Remove(tmp)
	}
	return err
}

// MkdirAllDurable creates dir and any missing parents, as MkdirAll does,
// and makes the new directories durable: after a crash they exist, so the
// files later created in them (and made durable with SyncDir of their own
// directory) are found. It fsyncs the parent of each directory it created
// (SyncDir), top down; nothing when dir already exists.
func MkdirAllDurable(fs FS, dir string) error {
	dir = filepath.Clean(dir)
	var missing []string // from dir up
	for p := dir; ; p = filepath.Dir(p) {
		_, err := fs.List(p)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		missing = append(missing, p)
		if filepath.Dir(p) == p {
			break
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := fs.MkdirAll(dir); err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if parent := filepath.Dir(missing[i]); parent != missing[i] {
			if err := fs.SyncDir(parent); err != nil {
				return err
			}
		}
	}
	return nil
}
