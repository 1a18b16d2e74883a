package reports

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/syncsim/syncsim/model"
)

// chromium finds a Chromium to drive. Without one the browser test is
// skipped, unless SYNCSIM_BROWSER=required (make test-browser, CI) makes
// that a failure.
func chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("SYNCSIM_BROWSER") == "required" {
		t.Fatal("no Chromium on this machine; install Debian's: apt-get install -y chromium")
	}
	t.Skip("no Chromium on this machine (apt-get install -y chromium); make test-browser requires it")
	return ""
}

// TestReportsInABrowser renders a failing run's report and the index in
// headless Chromium and checks what a person must see: the failure first on
// the index, linked to the run's page; on that page the violation listed
// and linked to its mark on the inline timeline, and the faults labelled;
// the violating sync's porcupine page no wider than three viewports, its
// rows named and the violation in view without scrolling; and no script
// errors. Screenshots are saved in the
// report directory, under the repository's syncsim-reports.
func TestReportsInABrowser(t *testing.T) {
	bin := chromium(t)
	root := Dir()
	if !filepath.IsAbs(root) {
		root = filepath.Join("..", root)
	}
	root, _ = filepath.Abs(filepath.Join(root, "browser-test"))
	os.RemoveAll(root)
	dir, err := Write(root, failingRun())
	if err != nil {
		t.Fatal(err)
	}
	pass := failingRun()
	pass.Name, pass.Verdict = "a-passing-run", model.Verdict{Status: model.Pass}
	if _, err := Write(root, pass); err != nil {
		t.Fatal(err)
	}

	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.WindowSize(1400, 900))...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var mu sync.Mutex
	var scriptErrors []string
	// The first Run starts the browser and its tab; listening needs the tab.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", bin, err)
	}
	err = chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			what := d.Text
			if d.Exception != nil {
				what += " " + d.Exception.Description
			}
			scriptErrors = append(scriptErrors, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, what))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				scriptErrors = append(scriptErrors, fmt.Sprintf("console.error %v", ev.Args))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}

	pages := []struct {
		name, url, wait, check string
	}{
		{"index", filepath.Join(root, "index.html"), "#runs",
			`(() => { const first = document.querySelector('#runs tr.run');
			   return first && first.cells[0].textContent.trim() === 'FAIL' && first.textContent.includes('P1 fail') &&
			          first.querySelector('a[href$="/index.html"]') !== null && first.querySelector('a[href$="timeline.svg"]') !== null })()`},
		// The run's page: the violation listed and linked to its mark on
		// the inline timeline, whose faults carry their labels.
		{"run", filepath.Join(dir, "index.html"), "#violations",
			`(() => { const link = document.querySelector('#violations li a[href="#violation-1"]');
			   const mark = document.querySelector('#timeline svg #violation-1');
			   const labels = [...document.querySelectorAll('#timeline .fault-label text')].map(t => t.textContent);
			   const r = mark && mark.getBoundingClientRect();
			   return link !== null && r !== null && r.width > 0 && r.height > 0 &&
			          labels.some(l => l.startsWith('isolate agent-1 1.00')) && labels.some(l => l.startsWith('member-crash m1')) &&
			          document.querySelector('#faults').textContent.includes('owner of sync-1') })()`},
		{"timeline", filepath.Join(dir, "timeline.svg"), "#violation-1",
			`(() => { const v = document.getElementById('violation-1'); const r = v.getBBox();
			   return r.width > 0 && r.height > 0 && document.querySelector('rect.fault') !== null })()`},
		// The violating sync's porcupine page: at most three viewports
		// wide, named rows, the fault annotated, and the illegal step in
		// view on load.
		{"linearizability-sync-1", filepath.Join(dir, "porcupine", "linearizability-sync-1.html"), "#canvas svg",
			`(() => { const svg = document.querySelector('#canvas svg');
			   const bad = document.querySelector('.linearization-invalid.linearization-point');
			   const r = bad && bad.getBoundingClientRect();
			   return document.title.includes('two-owners') && svg.textContent.includes('agent-1 #1') && svg.textContent.includes('isolate agent-1') &&
			          document.documentElement.scrollWidth <= 3 * window.innerWidth &&
			          r !== null && r.left >= 0 && r.right <= window.innerWidth && r.top >= 0 && r.bottom <= window.innerHeight })()`},
	}
	for _, p := range pages {
		if err := chromedp.Do(ctx, chromedp.Navigate("file://"+p.url), chromedp.WaitReady(chromedp.CSS(p.wait))); err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](p.check))
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("%s: screenshot: %v", p.name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "screenshot-"+p.name+".png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Errorf("%s (%s): a person would not see what they must: %s", p.name, p.url, strings.Join(strings.Fields(p.check), " "))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(scriptErrors) > 0 {
		t.Errorf("script errors: %s", strings.Join(scriptErrors, "; "))
	}
	t.Logf("screenshots in %s", dir)
}

// failingRun is a run in which two agents worked on sync-1 at once while
// agent-1 was cut off, with an etcd member crashed meanwhile and agent-3
// crashed and restarted after it.
func failingRun() Run {
	h := model.History{Version: model.HistoryVersion, Start: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Events: []model.Event{
		{Time: 0, Kind: model.AgentStart, Agent: "agent-1"},
		{Time: 0, Kind: model.AgentStart, Agent: "agent-2"},
		{Time: 0, Kind: model.AgentStart, Agent: "agent-3"},
		{Time: 5e7, Kind: model.ClaimStart, Agent: "agent-1", Sync: "sync-1"},
		{Time: 1e8, Kind: model.WorkStart, Agent: "agent-1", Sync: "sync-1", Worker: 1},
		{Time: 1.5e8, Kind: model.ClaimStart, Agent: "agent-3", Sync: "sync-2"},
		{Time: 2e8, Kind: model.WorkStart, Agent: "agent-3", Sync: "sync-2", Worker: 3},
		{Time: 3e8, Kind: model.LeaderWon, Agent: "agent-2", Token: 1},
		{Time: 1e9, Kind: model.FaultStart, Fault: "isolate", Target: "agent-1", Detail: "step 1: isolate owner of sync-1 for 3s"},
		{Time: 1.5e9, Kind: model.FaultStart, Fault: "member-crash", Target: "m1", Detail: "step 2: member-crash etcd follower for 2s"},
		{Time: 2.3e9, Kind: model.ClaimStart, Agent: "agent-2", Sync: "sync-1"},
		{Time: 2.4e9, Kind: model.WorkStart, Agent: "agent-2", Sync: "sync-1", Worker: 2},
		{Time: 3e9, Kind: model.WorkExit, Agent: "agent-1", Sync: "sync-1", Worker: 1},
		{Time: 3.5e9, Kind: model.FaultEnd, Fault: "member-crash", Target: "m1"},
		{Time: 4e9, Kind: model.FaultEnd, Fault: "isolate", Target: "agent-1"},
		{Time: 4.5e9, Kind: model.FaultStart, Fault: "crash", Target: "agent-3", Detail: "step 3: crash agent-3 for 1s"},
		{Time: 4.5e9, Kind: model.AgentCrash, Agent: "agent-3"},
		{Time: 4.5e9, Kind: model.WorkExit, Agent: "agent-3", Sync: "sync-2", Worker: 3},
		{Time: 4.7e9, Kind: model.ClaimStart, Agent: "agent-1", Sync: "sync-2"},
		{Time: 4.8e9, Kind: model.WorkStart, Agent: "agent-1", Sync: "sync-2", Worker: 4},
		{Time: 5.5e9, Kind: model.FaultEnd, Fault: "crash", Target: "agent-3"},
		{Time: 5.5e9, Kind: model.AgentStart, Agent: "agent-3"},
		{Time: 6e9, Kind: model.WorkExit, Agent: "agent-2", Sync: "sync-1", Worker: 2},
		{Time: 6e9, Kind: model.WorkExit, Agent: "agent-1", Sync: "sync-2", Worker: 4},
		{Time: 6.1e9, Kind: model.AgentStop, Agent: "agent-1"},
	}}
	scenario := `{"version": 1, "name": "two-owners", "steps": [
  {"at": "1s", "fault": "isolate", "target": "owner of sync-1", "for": "3s"},
  {"at": "1.5s", "fault": "member-crash", "target": "etcd follower", "for": "2s"},
  {"at": "4.5s", "fault": "crash", "target": "agent-3", "for": "1s"}]}
`
	return Run{Name: "two-owners", Scenario: []byte(scenario), History: h, Verdict: model.Check(h, model.Options{Expect: []model.Property{model.ExclusiveWork}}),
		Logs: map[string][]byte{"agent-1": []byte("log\n")}, Duration: 6 * time.Second, Seed: 7}
}
