//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The file gets perm less the umask, like os.WriteFile, also when it
// replaces a file with another mode.
func TestWrite_Perm(t *testing.T) {
	umask := os.FileMode(syscall.Umask(0))
	syscall.Umask(int(umask))
	dir := t.TempDir()
	for _, perm := range []os.FileMode{0o600, 0o640, 0o644} {
		for _, existing := range []bool{false, true} {
			path := filepath.Join(dir, perm.String())
			if existing {
				if err := os.WriteFile(path, []byte("old"), 0o666); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, 0o666); err != nil {
					t.Fatal(err)
				}
			}
			if err := Write(path, []byte("x"), perm); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fi.Mode().Perm(), perm&^umask; got != want {
				t.Errorf("Write(perm %v) over existing=%v: mode %v, want %v (umask %03o)", perm, existing, got, want, umask)
			}
			os.Remove(path)
		}
	}
}
