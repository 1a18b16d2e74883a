package reports

import (
	"cmp"
	"fmt"
	"html"
	"maps"
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

// Timeline draws the run as SVG, readable without a mouse: a title naming
// the run, seed, agent and clock; a lane per agent and per etcd member with
// its faults as labelled bars and its starts, stops and crashes as marks;
// a row per sync and agent that worked on it, each tenure a bar in the
// agent's colour; fault windows shaded across every row; and every
// violation in red, numbered as summary.md and index.html list them. With
// focus, only the first counted violation's sync (or, with none, the first
// maxRows rows) and the time around it are drawn, and note says where the
// whole picture is.
func Timeline(r Run, focus bool, note string) []byte {
	h, v := r.History, r.Verdict
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
	c := &canvas{from: from, to: to, colors: agentColors(h, intervals)}
	lanes := c.pack(laneItems(h, end))
	c.top = headerH + axisH
	c.rowsTop = c.top + rowH*len(lanes) + laneGap
	height := c.rowsTop + rowH*len(rows) + footerH

	fmt.Fprintf(&c.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", plotLeft+plotWidth+20, height)
	c.b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	c.header(r, note, focus)
	c.axis(c.rowsTop + rowH*len(rows))
	c.shadeFaults(h, end, c.rowsTop+rowH*len(rows))
	c.drawLanes(lanes)
	c.drawRows(rows, end)
	marks := numbered(v)
	for _, m := range marks {
		if m.To >= from && m.From <= to { // a cut timeline leaves the others out
			c.drawViolation(m, rows)
		}
	}
	if caption := violationCaption(marks, viol); caption != "" {
		fmt.Fprintf(&c.b, `<text x="4" y="%d" fill="red">%s</text>`+"\n", height-10, html.EscapeString(truncate(caption, 190)))
	}
	c.b.WriteString("</svg>\n")
	return []byte(c.b.String())
}

// The timeline's geometry, in pixels.
const (
	plotLeft, plotWidth = 230, 1000
	headerH, axisH      = 62, 14
	rowH, laneGap       = 18, 8
	footerH             = 40
	charW               = 6.2 // a character of the 11 px font, roughly: labels are packed by it
)

// canvas is a timeline being drawn: the time window, where its sections
// start, and each agent's colour.
type canvas struct {
	b            strings.Builder
	from, to     int64
	top, rowsTop int
	colors       map[string]string
}

func (c *canvas) x(t int64) float64 {
	t = min(max(t, c.from), c.to)
	return plotLeft + float64(t-c.from)/float64(max(c.to-c.from, 1))*plotWidth
}

func (c *canvas) visible(start, end int64) bool { return end >= c.from && start <= c.to }

// palette has one colour per agent, none of them the violations' red.
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#843c39"}

// agentColors gives every agent of the run its colour, in natural order
// of their names, so agent-1 has the same colour in every report.
func agentColors(h model.History, intervals []model.Interval) map[string]string {
	seen := map[string]bool{}
	var names []string
	add := func(a string) {
		if a != "" && !seen[a] {
			seen[a] = true
			names = append(names, a)
		}
	}
	for _, e := range h.Events {
		if e.Kind == model.AgentStart {
			add(e.Agent)
		}
	}
	for _, iv := range intervals {
		add(iv.Agent)
	}
	slices.SortFunc(names, naturalCompare)
	colors := map[string]string{}
	for i, n := range names {
		colors[n] = palette[i%len(palette)]
	}
	return colors
}

func (c *canvas) header(r Run, note string, focus bool) {
	agent := "reference agent"
	if r.Mutant != "" {
		agent = "mutant " + r.Mutant
	}
	title := fmt.Sprintf("%s · seed %d · %s · clock %s", cmp.Or(r.Name, "run"), r.Seed, agent, r.History.ClockName())
	fmt.Fprintf(&c.b, `<text class="title" x="4" y="16" font-size="14" font-weight="bold">%s</text>`+"\n", html.EscapeString(title))
	sub := "times in seconds since the run started"
	if start, ok := r.History.Wall(0); ok {
		sub = fmt.Sprintf("times in seconds since the run started at %s UTC", start.UTC().Format("2006-01-02 15:04:05.000"))
	}
	if note != "" {
		sub += " — " + note
	}
	fmt.Fprintf(&c.b, `<text x="4" y="32" fill="#444">%s</text>`+"\n", html.EscapeString(sub))
	if focus {
		fmt.Fprintf(&c.b, `<a href="timeline-full.svg"><text x="%d" y="32" fill="#1a5fb4" text-decoration="underline">the whole run</text></a>`+"\n", plotLeft+plotWidth-80)
	}
	c.legend(50)
}

// legend names each agent's colour and each mark's shape.
func (c *canvas) legend(y int) {
	x := 4.0
	fmt.Fprintf(&c.b, `<g class="legend"><text x="%.0f" y="%d">agents:</text>`, x, y)
	x += 48
	names := slices.SortedFunc(maps.Keys(c.colors), naturalCompare)
	for _, n := range names {
		fmt.Fprintf(&c.b, `<rect x="%.0f" y="%d" width="10" height="10" fill="%s"/><text x="%.0f" y="%d">%s</text>`, x, y-9, c.colors[n], x+13, y, html.EscapeString(n))
		x += 13 + charW*float64(len([]rune(n))) + 10
	}
	x += 10
	for _, k := range []markKind{markStart, markStop, markCrash, markExit} {
		c.mark(k, x+5, float64(y-4))
		fmt.Fprintf(&c.b, `<text x="%.0f" y="%d">%s</text>`, x+13, y, markWords[k])
		x += 13 + charW*float64(len(markWords[k])) + 10
	}
	fmt.Fprintf(&c.b, `<rect x="%.0f" y="%d" width="10" height="10" fill="#fde2a7"/><text x="%.0f" y="%d">fault</text>`, x, y-9, x+13, y)
	x += 60
	fmt.Fprintf(&c.b, `<rect x="%.0f" y="%d" width="10" height="10" fill="red" fill-opacity="0.4" stroke="red"/><text x="%.0f" y="%d">violation, numbered as listed</text></g>`+"\n", x, y-9, x+13, y)
}

// axis draws a labelled tick every second, or every 2, 5, 10 ... seconds
// on a long run, so labels never overprint.
func (c *canvas) axis(bottom int) {
	step := int64(1e9)
	for _, s := range []int64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600} {
		step = s * 1e9
		if float64(step)/float64(max(c.to-c.from, 1))*plotWidth >= 45 {
			break
		}
	}
	for t := (c.from + step - 1) / step * step; t <= c.to; t += step {
		fmt.Fprintf(&c.b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/><text x="%.1f" y="%d" fill="#888">%d s</text>`+"\n",
			c.x(t), c.top-4, c.x(t), bottom, c.x(t)+2, c.top-4, t/1e9)
	}
}

// shadeFaults shades every fault window faintly across the whole picture.
func (c *canvas) shadeFaults(h model.History, end int64, bottom int) {
	for _, f := range model.Faults(h) {
		fe := f.End
		if fe == model.Never {
			fe = end
		}
		if !c.visible(f.Start, fe) {
			continue
		}
		fmt.Fprintf(&c.b, `<rect class="fault" x="%.1f" y="%d" width="%.1f" height="%d" fill="#fde2a7" fill-opacity="0.35"><title>%s (%s)</title></rect>`+"\n",
			c.x(f.Start), c.top, max(c.x(fe)-c.x(f.Start), 2), bottom-c.top, html.EscapeString(f.What), html.EscapeString(f.Detail))
	}
}

func (c *canvas) drawRows(rows []row, end int64) {
	for i, r := range rows {
		y := c.rowsTop + i*rowH
		color := c.colors[r.agent]
		fmt.Fprintf(&c.b, `<text x="4" y="%d">%s · <tspan fill="%s" font-weight="bold">%s</tspan></text>`+"\n", y+13, html.EscapeString(r.sync), color, html.EscapeString(r.agent))
		for _, t := range r.tenures {
			stop := t.Stop
			if stop == model.Never {
				stop = end
			}
			if !c.visible(t.Start, stop) {
				continue
			}
			fmt.Fprintf(&c.b, `<rect class="tenure" x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s on %s: worker %d, %.3f s to %.3f s</title></rect>`+"\n",
				c.x(t.Start), y+3, max(c.x(stop)-c.x(t.Start), 1), rowH-6, color, html.EscapeString(r.agent), html.EscapeString(r.sync), t.Worker, float64(t.Start)/1e9, float64(stop)/1e9)
		}
	}
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
// rows of its sync and agents, and its number above, anchored as
// violation-N so the run's page links to it.
func (c *canvas) drawViolation(m mark, rows []row) {
	vx, vw := c.x(m.From), max(c.x(m.To)-c.x(m.From), 3)
	bottom := c.rowsTop + rowH*len(rows)
	fmt.Fprintf(&c.b, `<g id="violation-%d" class="violation"><title>%d. %s %s</title>`, m.N, m.N, m.Property, html.EscapeString(m.Text))
	fmt.Fprintf(&c.b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="red" fill-opacity="0.2" stroke="red"/>`, vx, c.top, vw, bottom-c.top)
	for i, r := range rows {
		if r.sync == m.Sync && slices.Contains(m.Agents, r.agent) {
			fmt.Fprintf(&c.b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="red"/>`, vx, c.rowsTop+i*rowH+3, vw, rowH-6)
		}
	}
	fmt.Fprintf(&c.b, `<circle cx="%.1f" cy="%d" r="7" fill="red"/><text x="%.1f" y="%d" fill="white" font-weight="bold" text-anchor="middle">%d</text></g>`+"\n",
		vx, bottom+9, vx, bottom+13, m.N)
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

// markKind is a moment in an agent's life, drawn as a shape of its own.
type markKind int

const (
	markStart markKind = iota // started: the first time, after a crash or stop, or joining
	markStop                  // stopped gracefully
	markCrash                 // killed
	markExit                  // returned by itself
)

var markWords = map[markKind]string{markStart: "start", markStop: "stop", markCrash: "crash", markExit: "exited by itself"}

var markOf = map[model.Kind]markKind{model.AgentStart: markStart, model.AgentStop: markStop, model.AgentCrash: markCrash, model.AgentExit: markExit}

// mark draws k centred on (x, y).
func (c *canvas) mark(k markKind, x, y float64) {
	switch k {
	case markStart:
		fmt.Fprintf(&c.b, `<polygon class="mark-start" points="%.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="#2a8a2a"/>`, x-5, y+5, x+5, y+5, x, y-5)
	case markStop:
		fmt.Fprintf(&c.b, `<rect class="mark-stop" x="%.1f" y="%.1f" width="9" height="9" fill="#333"/>`, x-4.5, y-4.5)
	case markCrash:
		fmt.Fprintf(&c.b, `<path class="mark-crash" d="M%.1f %.1fl10 10m0 -10l-10 10" stroke="#c00" stroke-width="3"/>`, x-5, y-5)
	case markExit:
		fmt.Fprintf(&c.b, `<circle class="mark-exit" cx="%.1f" cy="%.1f" r="5" fill="none" stroke="#d07000" stroke-width="2"/>`, x, y)
	}
}

// laneItem is one thing drawn on a lane: a fault (a labelled bar) or a
// moment in an agent's life (a mark).
type laneItem struct {
	lane       string // the agent, the member, or "operator"
	start, end int64
	label      string // a fault's words; "" for a mark
	title      string
	mark       markKind
}

// laneItems collects every fault, by the agent or member it hit, and every
// agent's starts, stops, crashes and exits.
func laneItems(h model.History, end int64) []laneItem {
	var items []laneItem
	open := map[string]int{}
	for _, e := range h.Events {
		switch e.Kind {
		case model.FaultStart:
			key := e.Fault + " " + e.Target
			open[key] = len(items)
			items = append(items, laneItem{lane: laneOf(e.Target), start: e.Time, end: model.Never, label: strings.TrimSpace(key), title: e.Detail})
		case model.FaultEnd:
			if i, ok := open[e.Fault+" "+e.Target]; ok {
				items[i].end = e.Time
				delete(open, e.Fault+" "+e.Target)
			}
		case model.AgentStart, model.AgentStop, model.AgentCrash, model.AgentExit:
			items = append(items, laneItem{lane: e.Agent, start: e.Time, end: e.Time, mark: markOf[e.Kind], title: fmt.Sprintf("%s %s at %.3f s %s", e.Agent, e.Kind, float64(e.Time)/1e9, e.Detail)})
		}
	}
	for i, it := range items {
		if it.label == "" {
			continue
		}
		healed := fmt.Sprintf("%.2f–%.2f s", float64(it.start)/1e9, float64(it.end)/1e9)
		switch {
		case it.end == model.Never:
			healed = fmt.Sprintf("from %.2f s, never healed", float64(it.start)/1e9)
			items[i].end = end
		case it.end == it.start:
			healed = fmt.Sprintf("at %.2f s", float64(it.start)/1e9)
		}
		items[i].label += " " + healed
	}
	return items
}

// laneOf is the lane a fault's resolved target is drawn on: an agent's, a
// member's (m0, m1, ...), or the operator's for syncs and whole-cluster faults.
func laneOf(target string) string {
	if strings.HasPrefix(target, "agent-") {
		return target
	}
	if name, _ := splitNumber(target); name == "m" && len(target) > 1 {
		return target
	}
	return "operator"
}

// lane is one row of the lanes section; a name's faults that overlap take
// more than one.
type lane struct {
	name  string
	items []laneItem
	free  float64 // where the next label may start
}

// pack lays the visible items out in lanes: agents first, then members,
// then the operator, a fault that would overprint another on a new row.
func (c *canvas) pack(items []laneItem) []lane {
	slices.SortStableFunc(items, func(a, b laneItem) int {
		return cmp.Or(cmp.Compare(laneRank(a.lane), laneRank(b.lane)), naturalCompare(a.lane, b.lane))
	})
	var lanes []lane
	first := 0 // the first lane of the current name
	for _, it := range items {
		if !c.visible(it.start, it.end) {
			continue
		}
		if len(lanes) == 0 || lanes[len(lanes)-1].name != it.lane {
			first = len(lanes)
			lanes = append(lanes, lane{name: it.lane})
		}
		if it.label == "" { // marks sit on the name's first row, over any bar
			lanes[first].items = append(lanes[first].items, it)
			continue
		}
		x0 := c.x(it.start)
		i := first
		for ; i < len(lanes) && lanes[i].free > x0; i++ {
		}
		if i == len(lanes) {
			lanes = append(lanes, lane{name: it.lane})
		}
		lanes[i].free = max(c.x(it.end), x0+charW*float64(len([]rune(it.label)))+6)
		lanes[i].items = append(lanes[i].items, it)
	}
	return lanes
}

func laneRank(name string) int {
	switch {
	case strings.HasPrefix(name, "agent-"):
		return 0
	case name == "operator":
		return 2
	}
	return 1
}

func (c *canvas) drawLanes(lanes []lane) {
	for i, l := range lanes {
		y := c.top + i*rowH
		if i == 0 || lanes[i-1].name != l.name {
			name := l.name
			if laneRank(name) == 1 {
				name = "etcd member " + name
			}
			fmt.Fprintf(&c.b, `<text x="4" y="%d" font-style="italic" fill="%s">%s</text>`+"\n", y+13, cmp.Or(c.colors[l.name], "#555"), html.EscapeString(name))
		}
		fmt.Fprintf(&c.b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#f0f0f0"/>`+"\n", plotLeft, y+rowH, plotLeft+plotWidth, y+rowH)
		for _, it := range l.items {
			c.drawLaneItem(it, y)
		}
	}
}

func (c *canvas) drawLaneItem(it laneItem, y int) {
	x0 := c.x(it.start)
	if it.label == "" {
		fmt.Fprintf(&c.b, `<g><title>%s</title>`, html.EscapeString(it.title))
		c.mark(it.mark, x0, float64(y)+rowH/2)
		c.b.WriteString("</g>\n")
		return
	}
	fill := "#fbc96b"
	if laneRank(it.lane) == 1 {
		fill = "#c9b3ec"
	}
	fmt.Fprintf(&c.b, `<g class="fault-label"><title>%s</title><rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" rx="2"/><text x="%.1f" y="%d">%s</text></g>`+"\n",
		html.EscapeString(it.title), x0, y+2, max(c.x(it.end)-x0, 2), rowH-4, fill, x0+3, y+13, html.EscapeString(it.label))
}
