package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrepare: a missing directory is created and left empty; a file, a
// directory under a file and one that cannot be written are errors naming
// the path.
func TestPrepare(t *testing.T) {
	tmp := t.TempDir()
	missing := filepath.Join(tmp, "a", "b")
	if err := Prepare(missing); err != nil {
		t.Fatalf("a missing directory: %v", err)
	}
	if left, _ := os.ReadDir(missing); len(left) != 0 {
		t.Fatalf("Prepare left %v behind", left)
	}
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(tmp, "ro")
	if err := os.Mkdir(readOnly, 0o555); err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		file:                         "is not a directory",
		filepath.Join(file, "under"): "cannot create the reports directory",
		readOnly:                     "cannot write to the reports directory",
	}
	if os.Geteuid() == 0 { // root writes anywhere but /proc
		delete(bad, readOnly)
		bad["/proc"] = "cannot write to the reports directory"
	}
	for dir, want := range bad {
		err := Prepare(dir)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), dir) {
			t.Errorf("Prepare(%s) = %v; want it to name the path and say %q", dir, err, want)
		}
	}
}
