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
	"sync"
	"testing"

	"go.etcd.io/etcd/client/pkg/v3/verify"
	"go.etcd.io/etcd/tests/v3/framework/integration"
)

// framework is what Init set up: the framework's test context, entered once
// for the whole process, and the scratch directory it moved the process into.
type framework struct {
	dir string
	t   *tb
}

var (
	frameworkMu sync.Mutex
	entered     *framework // nil outside Init ... Close
)

// Init prepares the process for in-process etcd clusters; call it once, first
// thing in main or TestMain, before StartCluster. It owns the etcd test
// framework's process-wide effects: outside go test it registers and parses
// the testing flags the framework reads, it enters the framework's test
// context, which moves the process into a scratch directory for good (the
// members listen on unix sockets named relative to the working directory),
// and it turns off etcd's self-verification. Resolve every path a user gave
// before calling it. Calling it again does nothing.
func Init() error {
	frameworkMu.Lock()
	defer frameworkMu.Unlock()
	if entered != nil {
		return nil
	}
	if err := parseTestFlags(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "syncsim-")
	if err != nil {
		return err
	}
	f := &framework{dir: dir, t: newTB("syncsim", dir, io.Discard)}
	if err := f.t.do(func() { integration.BeforeTestExternal(f.t) }); err != nil {
		f.close()
		return fmt.Errorf("enter the etcd test framework: %w", err)
	}
	// The framework turns on etcd's self-verification (ETCD_VERIFY=all),
	// which captures a stack trace on every backend write: half the CPU
	// of a run, spent checking etcd rather than the agent under test.
	verify.DisableVerifications()
	entered = f
	return nil
}

// parseTestFlags makes the testing flags exist and be parsed, as the
// framework asks testing.Short. A test binary parses its own command line
// (TestMain may call Init before m.Run does); any other program parses none.
func parseTestFlags() error {
	if flag.Parsed() {
		return nil
	}
	testing.Init()
	var args []string
	if testing.Testing() {
		args = os.Args[1:]
	}
	return flag.CommandLine.Parse(args)
}

// RunTests is the TestMain of a test package that starts clusters: Init,
// the tests, Close; it returns the exit code. withCluster false runs the
// tests without Init, in the directory they started in (a fuzz run, say,
// whose inputs live in testdata relative to it).
func RunTests(m *testing.M, withCluster bool) int {
	if withCluster {
		if err := Init(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	defer Close()
	return m.Run()
}

// Close undoes Init at the end of main or TestMain, once every cluster is
// closed: it leaves the framework's test context, which moves the process
// back to the directory it started in and restores etcd's verification, and
// removes the scratch directory. Without Init it does nothing.
func Close() {
	frameworkMu.Lock()
	defer frameworkMu.Unlock()
	if entered != nil {
		entered.close()
		entered = nil
	}
}

func (f *framework) close() {
	f.t.close()
	os.RemoveAll(f.dir)
}

// checkInit fails unless Init ran: StartCluster needs its working directory.
func checkInit() error {
	frameworkMu.Lock()
	defer frameworkMu.Unlock()
	if entered == nil {
		return errors.New("the etcd test framework is not set up: call sim.Init first, in main or TestMain")
	}
	return nil
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
