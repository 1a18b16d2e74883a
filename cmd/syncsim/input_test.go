package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHostileInputExitsTwo: files that are not regular or too large are
// refused at once, corrupt histories and negative durations are bad input,
// and report refuses a directory that holds no reports; each exits 2.
func TestHostileInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sparse := func(name string, size int64) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, nil, 0o644); err != nil || os.Truncate(path, size) != nil {
			t.Fatal("cannot make a sparse file")
		}
		return path
	}
	write := func(name, data string) string { return writeFile(t, dir, name, []byte(data)) }
	bigScenario := sparse("big.json", 17<<20)
	bigHistory := sparse("big-history.json", 257<<20)
	oldVersion := write("minus.json", `{"version":-1,"events":[]}`)
	backwards := write("backwards.json", `{"version":1,"events":[{"t":20,"kind":"ready"},{"t":10,"kind":"quiet-end"}]}`)
	negative := write("negative.json", `{"version":1,"events":[{"t":-1,"kind":"ready"}]}`)
	empty := t.TempDir()
	notReports := t.TempDir()
	os.Mkdir(filepath.Join(notReports, "src"), 0o755)
	out := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--out", out, fifo}, "is a named pipe (FIFO), not a regular file"},
		{[]string{"check", fifo}, "is a named pipe (FIFO), not a regular file"},
		{[]string{"replay", "--out", out, fifo}, "is a named pipe (FIFO), not a regular file"},
		{[]string{"run", "--out", out, bigScenario}, "is larger than the limit for this file, 16 MB"},
		{[]string{"check", bigHistory}, "is larger than the limit for this file, 256 MB"},
		{[]string{"check", oldVersion}, "has history format version -1; this syncsim reads versions 1 to 1"},
		{[]string{"check", backwards}, `is corrupt: event 1 ("quiet-end" at t=10): its time is before the previous event's, t=20`},
		{[]string{"check", negative}, `is corrupt: event 0 ("ready" at t=-1): its time is negative`},
		{[]string{"explore", "--duration", "-5m"}, `invalid value "-5m" for flag -duration: -5m0s is negative`},
		{[]string{"explore", "--shrink-time", "-1s"}, `invalid value "-1s" for flag -shrink-time: -1s is negative`},
		{[]string{"report", empty}, "is empty: it holds no run reports yet"},
		{[]string{"report", notReports}, "is not a reports directory: no directory in it holds a run's summary.json"},
	}
	for _, tt := range tests {
		type result struct {
			code   int
			stderr string
		}
		done := make(chan result, 1)
		go func() { code, _, stderr := syncsim(tt.args...); done <- result{code, stderr} }()
		select {
		case r := <-done:
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("syncsim %v: exit %d, stderr %q; want exit 2 and %q", tt.args, r.code, r.stderr, tt.want)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("syncsim %v hung", tt.args) // a FIFO read waits for a writer for ever
		}
	}
	for _, d := range []string{empty, notReports} {
		if _, err := os.Stat(filepath.Join(d, "index.html")); err == nil {
			t.Errorf("report wrote an index into %s", d)
		}
	}
}
