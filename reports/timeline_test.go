package reports

import (
	"regexp"
	"strings"
	"testing"
)

// TestTimelineReadsWithoutAMouse: the picture names the run, labels each
// fault with what, whom, from and to, gives etcd members their own lanes,
// draws crashes, starts and stops as different marks, and gives each
// agent its own colour.
func TestTimelineReadsWithoutAMouse(t *testing.T) {
	svg := string(Timeline(failingRun(), false, ""))
	for _, want := range []string{
		"two-owners · seed 7 · reference agent · clock real",
		"started at 2026-01-02 03:04:05.000 UTC",
		">isolate agent-1 1.00–4.00 s<",
		">member-crash m1 1.50–3.50 s<",
		">etcd member m1<",
		`class="mark-crash"`, `class="mark-start"`, `class="mark-stop"`,
		`id="violation-1"`,
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("the timeline lacks %q", want)
		}
	}
	fills := map[string]string{}
	for _, m := range regexp.MustCompile(`class="tenure"[^>]*fill="([^"]+)"><title>(agent-\d)`).FindAllStringSubmatch(svg, -1) {
		fills[m[2]] = m[1]
	}
	if len(fills) != 3 || fills["agent-1"] == fills["agent-2"] || fills["agent-2"] == fills["agent-3"] || fills["agent-1"] == fills["agent-3"] {
		t.Errorf("want a colour per agent, got %v", fills)
	}
}

// TestRunPage: a run's index.html lists every violation linked to its
// mark on the inline timeline, and the scenario's faults with the target
// as written, what it resolved to, and when it started and healed.
func TestRunPage(t *testing.T) {
	run := failingRun()
	files, err := render(run)
	if err != nil {
		t.Fatal(err)
	}
	page := string(files["index.html"])
	for _, want := range []string{
		`<a href="#violation-1">P1, marked 1 on the timeline</a>`,
		`<g id="violation-1" class="violation">`, // the SVG inline, not an <img>
		`<td>owner of sync-1</td><td>agent-1</td><td class="num">1.000 s (03:04:06.000 UTC)</td><td class="num">4.000 s (03:04:09.000 UTC)</td>`,
		`<td>etcd follower</td><td>m1</td>`,
		`<a href="history.json">history.json</a>`,
		`<a href="logs/agent-1.log">`,
		`failovers (the old owner crashed or fenced itself)</td><td>2, median 300 ms`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
	if strings.Contains(page, "<img") || strings.Contains(page, `href="/`) {
		t.Error("index.html embeds the timeline as an image or links by absolute path")
	}
}
