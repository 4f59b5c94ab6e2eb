package atomicfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// temps lists the temporary files Write may have left beside path.
func temps(t *testing.T, path string) []string {
	t.Helper()
	m, err := filepath.Glob(path + ".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWrite_CreatesThenReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	for _, data := range [][]byte{[]byte("first version, longer\n"), []byte("second\n"), {}} {
		if err := Write(path, data, 0o600); err != nil {
			t.Fatalf("Write(%q): %v", data, err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("after Write(%q) the file holds %q", data, got)
		}
		if left := temps(t, path); len(left) != 0 {
			t.Errorf("temporary files left: %v", left)
		}
	}
}

func TestWrite_MissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "state")
	err := Write(path, []byte("x"), 0o600)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Write into a missing directory = %v, want an error that Is fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
}

// A rename over a non-empty directory fails (as root too): the directory
// stays as it was and the temporary file is removed.
func TestWrite_RenameFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	keep := filepath.Join(path, "keep")
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keep, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Write(path, []byte("new"), 0o600)
	var le *os.LinkError
	if !errors.As(err, &le) || le.Op != "rename" {
		t.Fatalf("Write over a non-empty directory = %v, want a rename *os.LinkError", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
	if got, err := os.ReadFile(keep); err != nil || string(got) != "old" {
		t.Errorf("the directory's file now holds %q, %v; want it untouched", got, err)
	}
	if left := temps(t, path); len(left) != 0 {
		t.Errorf("temporary files left after a failed rename: %v", left)
	}
}

func TestWrite_ReadOnlyDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	err := Write(path, []byte("new"), 0o600)
	if !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("Write into a read-only directory = %v, want an error that Is fs.ErrPermission", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("the file now holds %q, want the old content", got)
	}
}
