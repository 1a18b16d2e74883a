package etcdpatch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrepare patches the module cache's copy into a scratch directory:
// the hook is called once in NewTransport, its file is added, and the
// go.work replaces the module with the copy.
func TestPrepare(t *testing.T) {
	dir := t.TempDir()
	work, err := Prepare("../..", dir)
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(work)
	if err != nil {
		t.Fatal(err)
	}
	if want := "replace " + Module + " " + Version + " => ./" + copyName; !strings.Contains(string(text), want) {
		t.Errorf("go.work lacks %q:\n%s", want, text)
	}
	src, err := os.ReadFile(filepath.Join(dir, copyName, patchedFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(src), inserted); n != 1 {
		t.Errorf("the patched %s calls the hook %d times, want once", patchedFile, n)
	}
	if _, err := os.Stat(filepath.Join(dir, copyName, addedFile)); err != nil {
		t.Errorf("the hook's file was not added: %v", err)
	}
	// Prepared already: the copy is not made again.
	marker := filepath.Join(dir, copyName, "marker")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare("../..", dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("a second Prepare made the copy again")
	}
}

// TestApplyRefusesAnotherSource: a transport.go the patch was not written
// for is refused, not patched in the wrong place.
func TestApplyRefusesAnotherSource(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "transport"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, patchedFile), []byte("package transport\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := apply(dir)
	if err == nil || !strings.Contains(err.Error(), Version) {
		t.Fatalf("apply = %v, want an error naming the version the patch fits", err)
	}
}
