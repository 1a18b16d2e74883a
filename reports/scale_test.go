package reports

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/model/modeltest"
)

// largeFailingRun is a clean synthetic history of about n operations over
// 1,000 syncs with one violation planted midway: a second agent works on
// sync-500 while its owner still does.
func largeFailingRun(tb testing.TB, n int) Run {
	h := modeltest.Synthetic(n, 1000)
	mid := h.Events[len(h.Events)/2].Time
	h.Events = append(h.Events,
		model.Event{Time: mid, Kind: model.WorkStart, Agent: "intruder", Sync: "sync-500", Worker: 1 << 40},
		model.Event{Time: mid + 1e6, Kind: model.WorkExit, Agent: "intruder", Sync: "sync-500", Worker: 1 << 40})
	slices.SortStableFunc(h.Events, func(a, b model.Event) int { return cmp.Compare(a.Time, b.Time) })
	v := model.Check(h, model.Options{Expect: []model.Property{model.ExclusiveWork}})
	if v.Status != model.Fail {
		tb.Fatalf("the planted overlap was not caught: %s", v)
	}
	return Run{Name: fmt.Sprintf("large-%d", n), Scenario: []byte("{}\n"), History: h, Verdict: v, Duration: time.Minute}
}

// BenchmarkWrite measures writing a failing run's whole report directory.
func BenchmarkWrite(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("ops=%d", n), func(b *testing.B) {
			run := largeFailingRun(b, n)
			var dir string
			for b.Loop() {
				var err error
				if dir, err = Write(b.TempDir(), run); err != nil {
					b.Fatal(err)
				}
			}
			for _, f := range []string{"linearizability.html", "timeline.svg", "timeline-full.svg"} {
				if st, err := os.Stat(filepath.Join(dir, f)); err == nil {
					b.ReportMetric(float64(st.Size())/1e6, "MB-"+f)
				}
			}
		})
	}
}

// BenchmarkRenderInBrowser measures how long headless Chromium takes to
// open a 100,000-operation failing run's pages until they are drawn.
func BenchmarkRenderInBrowser(b *testing.B) {
	bin := chromium(b)
	dir, err := Write(b.TempDir(), largeFailingRun(b, 100_000))
	if err != nil {
		b.Fatal(err)
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.WindowSize(1400, 900))...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	for _, p := range []struct{ file, ready string }{
		{"linearizability.html", "#canvas svg"},
		{"timeline.svg", "#violation-1"},
	} {
		b.Run(p.file, func(b *testing.B) {
			for b.Loop() {
				if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
					b.Fatal(err)
				}
				if err := chromedp.Do(ctx, chromedp.Navigate("file://"+filepath.Join(dir, p.file)), chromedp.WaitReady(chromedp.CSS(p.ready))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
