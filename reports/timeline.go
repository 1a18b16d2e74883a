package reports

import (
	"cmp"
	"fmt"
	"html"
	"slices"
	"strconv"
	"strings"

	"github.com/syncsim/syncsim/model"
)

// maxRows is how many rows the timeline draws before it is cut to the
// neighbourhood of the violation (with a link to the whole picture).
const maxRows = 80

// row is one line of the timeline: an agent's tenures on one sync.
type row struct {
	sync, agent string
	tenures     []model.Interval
}

// Timeline draws the run as SVG: a row per sync and agent that worked on
// it, each tenure a bar, fault windows shaded across every row, and every
// violation in red, numbered as summary.md lists them. With focus, only the
// first counted violation's sync (or, with none, the first maxRows rows)
// and the time around it are drawn, and note says where the whole picture is.
func Timeline(h model.History, v model.Verdict, focus bool, note string) []byte {
	intervals := append(model.Intervals(h), model.LeaderIntervals(h)...)
	var end int64
	for _, e := range h.Events {
		end = max(end, e.Time)
	}
	from, to := int64(0), max(end, 1)
	var viol *model.Violation
	if first := v.First(); first != nil && first.Status == model.Fail {
		viol = first.First()
	}
	rows := rowsOf(intervals, end)
	if focus {
		if viol != nil && viol.Sync != "" {
			rows = slices.DeleteFunc(rows, func(r row) bool { return r.sync != viol.Sync })
			pad := max((viol.To-viol.From)*2, 2e9)
			from, to = max(viol.From-pad, 0), min(viol.To+pad, end)
		}
		if len(rows) > maxRows {
			rows = rows[:maxRows]
		}
	}

	const left, width, top, rowH = 230, 1000, 40, 18
	height := top + rowH*len(rows) + 44
	x := func(t int64) float64 {
		t = min(max(t, from), to)
		return left + float64(t-from)/float64(max(to-from, 1))*width
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", left+width+20, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	title := "ownership over time"
	if note != "" {
		title += " — " + note
	}
	fmt.Fprintf(&b, `<text x="4" y="14" font-size="13">%s</text>`+"\n", html.EscapeString(title))
	if focus {
		fmt.Fprintf(&b, `<a href="timeline-full.svg"><text x="%d" y="14" font-size="13" fill="#1a5fb4" text-decoration="underline">the whole run</text></a>`+"\n", left+width-90)
	}
	// Time axis: a tick a second.
	for s := (from + 999_999_999) / 1e9; s*1e9 <= to; s++ {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/><text x="%.1f" y="%d" fill="#888">%ds</text>`+"\n",
			x(s*1e9), top-4, x(s*1e9), top+rowH*len(rows), x(s*1e9)+2, top-6, s)
	}
	for _, f := range model.Faults(h) {
		fe := f.End
		if fe == model.Never {
			fe = end
		}
		if fe < from || f.Start > to {
			continue
		}
		fmt.Fprintf(&b, `<rect class="fault" x="%.1f" y="%d" width="%.1f" height="%d" fill="#fde2a7" fill-opacity="0.55"><title>%s (%s)</title></rect>`+"\n",
			x(f.Start), top, max(x(fe)-x(f.Start), 2), rowH*len(rows), html.EscapeString(f.What), html.EscapeString(f.Detail))
	}
	for i, r := range rows {
		y := top + i*rowH
		fmt.Fprintf(&b, `<text x="4" y="%d">%s · %s</text>`+"\n", y+13, html.EscapeString(r.sync), html.EscapeString(r.agent))
		for _, t := range r.tenures {
			stop := t.Stop
			if stop == model.Never {
				stop = end
			}
			if stop < from || t.Start > to {
				continue
			}
			fmt.Fprintf(&b, `<rect class="tenure" x="%.1f" y="%d" width="%.1f" height="%d" fill="#4a7fc1"><title>%s on %s: worker %d, %.3f s to %.3f s</title></rect>`+"\n",
				x(t.Start), y+3, max(x(stop)-x(t.Start), 1), rowH-6, html.EscapeString(r.agent), html.EscapeString(r.sync), t.Worker, float64(t.Start)/1e9, float64(stop)/1e9)
		}
	}
	marks := numbered(v)
	for _, m := range marks {
		if m.To >= from && m.From <= to { // a cut timeline leaves the others out
			drawViolation(&b, m, rows, x, top, rowH)
		}
	}
	if caption := violationCaption(marks, viol); caption != "" {
		fmt.Fprintf(&b, `<text x="4" y="%d" fill="red">%s</text>`+"\n", height-10, html.EscapeString(truncate(caption, 190)))
	}
	fmt.Fprintf(&b, `<text x="4" y="%d" fill="#666">bars: a worker's tenure · shaded: a fault (hover for what and when) · red: a violation, numbered as in summary.md</text>`+"\n", height-26)
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// rowsOf groups tenures by sync and agent, syncs in natural order
// (sync-2 before sync-10), leadership last.
func rowsOf(intervals []model.Interval, end int64) []row {
	index := map[[2]string]int{}
	var rows []row
	for _, t := range intervals {
		k := [2]string{t.Sync, t.Agent}
		i, ok := index[k]
		if !ok {
			i = len(rows)
			index[k] = i
			rows = append(rows, row{sync: t.Sync, agent: t.Agent})
		}
		rows[i].tenures = append(rows[i].tenures, t)
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(naturalCompare(a.sync, b.sync), naturalCompare(a.agent, b.agent))
	})
	return rows
}

// naturalCompare orders names by their text, then by their trailing
// number; the leadership pseudo-sync sorts last.
func naturalCompare(a, b string) int {
	if (a == model.Leadership) != (b == model.Leadership) {
		if a == model.Leadership {
			return 1
		}
		return -1
	}
	an, ai := splitNumber(a)
	bn, bi := splitNumber(b)
	return cmp.Or(strings.Compare(an, bn), cmp.Compare(ai, bi))
}

func splitNumber(s string) (string, int) {
	i := strings.LastIndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) + 1
	n, _ := strconv.Atoi(s[i:])
	return s[:i], n
}

// truncate cuts s to n runes: cutting bytes could split a character and
// leave the SVG invalid UTF-8.
func truncate(s string, n int) string {
	runes := []rune(s)
	if len(runes) <= n {
		return s
	}
	return string(runes[:n]) + "…"
}

// drawViolation marks one violation: a band across every row, solid on the
// rows of its sync and agents, and its number above.
func drawViolation(b *strings.Builder, m mark, rows []row, x func(int64) float64, top, rowH int) {
	vx, vw := x(m.From), max(x(m.To)-x(m.From), 3)
	id := ""
	if m.n == 1 {
		id = ` id="violation"`
	}
	fmt.Fprintf(b, `<g%s class="violation"><title>%d. %s %s</title>`, id, m.n, m.property, html.EscapeString(m.Text))
	fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="red" fill-opacity="0.25" stroke="red"/>`, vx, top, vw, rowH*len(rows))
	for i, r := range rows {
		if r.sync == m.Sync && slices.Contains(m.Agents, r.agent) {
			fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="red"/>`, vx, top+i*rowH+3, vw, rowH-6)
		}
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%d" fill="red" font-weight="bold">%d</text></g>`+"\n", vx+1, top+9, m.n)
}

// violationCaption says how many violations there are, and the first
// counted one (or the first of all).
func violationCaption(marks []mark, counted *model.Violation) string {
	switch {
	case len(marks) == 0:
		return ""
	case counted == nil:
		return fmt.Sprintf("violation 1 of %d: %s", len(marks), marks[0].Text)
	case len(marks) == 1:
		return "violation: " + counted.Text
	}
	return fmt.Sprintf("%d violations; the first counted: %s", len(marks), counted.Text)
}
