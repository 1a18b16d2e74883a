package sim

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// envFresh makes the test binary skip Init in TestMain, so that a test run
// in a child process sees the process as main sees it before Init.
const envFresh = "SYNCSIM_TEST_FRESH_PROCESS"

func TestMain(m *testing.M) {
	os.Exit(RunTests(m, os.Getenv(envFresh) == ""))
}

// inFreshProcess runs the calling test again in a child process that has
// not called Init, and reports whether this is that child.
func inFreshProcess(t *testing.T) bool {
	t.Helper()
	if os.Getenv(envFresh) != "" {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envFresh+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("in a fresh process: %v\n%s", err, out)
	}
	return false
}

// TestStartClusterNeedsInit: without Init a cluster does not start in some
// directory by accident; the error says what to do.
func TestStartClusterNeedsInit(t *testing.T) {
	if !inFreshProcess(t) {
		return
	}
	c, err := StartCluster(1)
	if err == nil {
		c.Close()
		t.Fatal("StartCluster before Init started a cluster")
	}
	if !strings.Contains(err.Error(), "call sim.Init first") {
		t.Fatalf("StartCluster before Init: %v; want it to say to call sim.Init first", err)
	}
}

// TestInitAndClose: Init moves the process into a scratch directory, a
// second Init changes nothing, and Close moves it back and removes what Init
// created.
func TestInitAndClose(t *testing.T) {
	if !inFreshProcess(t) {
		return
	}
	start, _ := os.Getwd()
	if err := Init(); err != nil {
		t.Fatal(err)
	}
	work, _ := os.Getwd()
	if work == start {
		t.Fatalf("Init left the process in %s", start)
	}
	if err := Init(); err != nil {
		t.Fatalf("a second Init: %v", err)
	}
	if again, _ := os.Getwd(); again != work {
		t.Fatalf("a second Init moved the process from %s to %s", work, again)
	}
	c, err := StartCluster(1)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	Close()
	if back, _ := os.Getwd(); back != start {
		t.Fatalf("after Close the process is in %s; it started in %s", back, start)
	}
	scratch := filepath.Dir(work) // Init's directory, holding the framework's
	if _, err := os.Stat(scratch); !os.IsNotExist(err) {
		t.Fatalf("Close left %s behind (%v)", scratch, err)
	}
	Close() // a second Close does nothing
}
