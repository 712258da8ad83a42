package vfs

import (
	"io"
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
