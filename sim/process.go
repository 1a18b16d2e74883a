// Package sim runs agents against an in-process etcd cluster, injects faults,
// and records everything that happens on one clock. It never decides whether
// a run passed: that is model's job.
package sim

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.etcd.io/etcd/client/pkg/v3/verify"
	"go.etcd.io/etcd/tests/v3/framework/integration"
)

// startDir is the working directory the process started in. The etcd test
// framework moves the process into a scratch directory for good (its members
// listen on unix sockets named relative to the working directory), so paths a
// user gives are resolved against startDir with Abs.
var startDir, _ = os.Getwd()

// Abs resolves path against the directory the process started in.
func Abs(path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(startDir, path)
}

var (
	setupOnce sync.Once
	setupErr  error
)

// setupProcess prepares the framework once per process: outside `go test`
// the testing flags must exist and be parsed, and the framework's test
// context is entered once, for the life of the process.
func setupProcess() error {
	setupOnce.Do(func() {
		if !flag.Parsed() {
			testing.Init()
			if err := flag.CommandLine.Parse(nil); err != nil {
				setupErr = err
				return
			}
		}
		dir, err := os.MkdirTemp("", "syncsim-")
		if err != nil {
			setupErr = err
			return
		}
		tb := newTB("syncsim", dir, io.Discard)
		setupErr = tb.do(func() { integration.BeforeTestExternal(tb) })
		// The framework turns on etcd's self-verification (ETCD_VERIFY=all),
		// which captures a stack trace on every backend write: half the CPU
		// of a run, spent checking etcd rather than the agent under test.
		verify.DisableVerifications()
	})
	return setupErr
}

// WorkDir enters the framework's test context, if no cluster has yet, and
// returns the working directory it moved the process into. Anything that
// resolves paths relative to the working directory (rapid's failure files,
// for one) sees this directory, not the one the process started in.
func WorkDir() (string, error) {
	if err := setupProcess(); err != nil {
		return "", err
	}
	return os.Getwd()
}

// tb is the testutil.TB the framework needs, for use outside a test: logs go
// to a writer, Fatal unwinds to the nearest do, and cleanups run on close.
type tb struct {
	name, dir string

	mu       sync.Mutex
	log      io.Writer
	failures []string
	cleanups []func()
}

func newTB(name, dir string, log io.Writer) *tb { return &tb{name: name, dir: dir, log: log} }

// fatal unwinds a framework call that gave up.
type fatal struct{ msg string }

// do runs f, turning a Fatal inside it into an error.
func (t *tb) do(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			ft, ok := r.(fatal)
			if !ok {
				panic(r)
			}
			err = errors.New(ft.msg)
		}
	}()
	f()
	if msgs := t.errors(); len(msgs) > 0 {
		return errors.New(msgs[0])
	}
	return nil
}

func (t *tb) errors() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failures
}

// close runs the cleanups, newest first, and stops logging.
func (t *tb) close() {
	t.mu.Lock()
	cleanups := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	t.mu.Lock()
	t.log = io.Discard
	t.mu.Unlock()
}

func (t *tb) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}
func (t *tb) Error(args ...any)                 { t.fail(fmt.Sprint(args...)) }
func (t *tb) Errorf(format string, args ...any) { t.fail(fmt.Sprintf(format, args...)) }
func (t *tb) Fail()                             { t.fail("failed") }
func (t *tb) FailNow()                          { t.fail("failed"); panic(fatal{"failed"}) }
func (t *tb) Failed() bool                      { return len(t.errors()) > 0 }
func (t *tb) Fatal(args ...any)                 { t.Error(args...); panic(fatal{fmt.Sprint(args...)}) }
func (t *tb) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	panic(fatal{fmt.Sprintf(format, args...)})
}
func (t *tb) Skip(args ...any) { panic(fatal{"skipped: " + fmt.Sprint(args...)}) }
func (t *tb) Helper()          {}
func (t *tb) Name() string     { return t.name }
func (t *tb) Logf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.log, format+"\n", args...)
}

func (t *tb) TempDir() string {
	dir, err := os.MkdirTemp(t.dir, "t")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func (t *tb) fail(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failures = append(t.failures, msg)
}
