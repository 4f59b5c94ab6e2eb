// Package atomicfile replaces a file so that a reader, or the file system
// after a crash, sees either the old content or the whole new content.
//
// Write puts the data in a temporary file in the same directory, fsyncs and
// closes it, renames it over the target and fsyncs the directory, so the
// rename itself is durable. Every one of those errors is returned. The
// temporary file is named <base>.tmp-<random> beside the target (a crash can
// leave one behind; it is never read back); it is removed when a step before
// the rename fails.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// Write replaces path with data. The file is created with perm (before the
// umask, as os.WriteFile). The directory of path must exist. An error wraps
// the failing operation's error and names path; when only the final
// directory fsync fails, the new content is already in place.
func Write(path string, data []byte, perm os.FileMode) error {
	if err := write(path, data, perm); err != nil {
		return fmt.Errorf("write %s atomically: %w", path, err)
	}
	return nil
}

func write(path string, data []byte, perm os.FileMode) error {
	f, err := createTemp(path, perm)
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		// The temporary file has done no harm yet; drop it. A removal
		// error would only hide the one that matters.
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// createTemp creates <path>.tmp-<random>, failing rather than reusing a
// name that exists.
func createTemp(path string, perm os.FileMode) (*os.File, error) {
	for range 10000 {
		name := path + ".tmp-" + strconv.FormatUint(uint64(rand.Uint32()), 10)
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, &fs.PathError{Op: "createtemp", Path: path + ".tmp-*", Err: fs.ErrExist}
}

// syncDir fsyncs dir, so a rename in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
