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
