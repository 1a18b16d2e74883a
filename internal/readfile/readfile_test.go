package readfile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRegularReadsAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := Regular(path, 5)
	if err != nil || string(data) != "hello" {
		t.Fatalf("got %q, %v", data, err)
	}
}

// TestRegularRefusesAFIFO: opening a FIFO for reading waits for a writer,
// forever; it must be refused at once instead.
func TestRegularRefusesAFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo.json")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := Regular(path, 1<<20); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "is a named pipe (FIFO), not a regular file") {
			t.Fatalf("error %v does not say it is a FIFO", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO hung")
	}
}

func TestRegularRefusesOthers(t *testing.T) {
	for path, want := range map[string]string{
		t.TempDir(): "is a directory",
		"/dev/zero": "is a character device",
	} {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		if _, err := Regular(path, 1<<20); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v does not say %q", path, err, want)
		}
	}
}

// TestRegularRefusesALargeFile uses a sparse file: its size is refused
// before a byte of it is read.
func TestRegularRefusesALargeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Regular(path, 16<<20)
	if err == nil || !strings.Contains(err.Error(), "larger than the limit for this file, 16 MB") {
		t.Fatalf("error %v does not name the limit", err)
	}
}
