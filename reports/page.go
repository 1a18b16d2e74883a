package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/syncsim/syncsim/model"
)

// Page is the stem of a run's own page, index.html: what a person opens
// first. Every link on it is relative, so the directory works as a CI
// artifact, from S3 or from file://.
const Page = "index"

// faultRow is one step of the scenario as it ran.
type faultRow struct {
	Step           int
	At, Fault, For string // as written
	Target         string // as written
	Resolved       string // what the target resolved to when the step ran
	Start, Heal    string // harness seconds, with UTC
	Note           string
}

// stepNumber reads N from a fault event's "step N: ..." or "step N (...)".
var stepNumber = regexp.MustCompile(`^step (\d+)[:( ]`)

// writtenSteps are the scenario's steps as written, by number from 1.
func writtenSteps(scenario []byte) map[int]faultRow {
	var sc struct {
		Steps []struct {
			At, Fault, Target, For string
		} `json:"steps"`
	}
	_ = json.Unmarshal(scenario, &sc) // a page without the written targets beats no page
	out := map[int]faultRow{}
	for i, s := range sc.Steps {
		out[i+1] = faultRow{Step: i + 1, At: s.At, Fault: s.Fault, Target: s.Target, For: s.For}
	}
	return out
}

// faultRows pairs each step's start with its heal, and the steps that did
// not run with why, in the order they happened.
func faultRows(r Run) []faultRow {
	written := writtenSteps(r.Scenario)
	var rows []faultRow
	open := map[string]int{}
	for _, e := range r.History.Events {
		switch e.Kind {
		case model.FaultStart, model.Skipped, model.NotApplied:
			if e.Kind != model.FaultStart && e.Fault == "" {
				continue // the harness's own trouble, not a step; the "complete" result says it
			}
			row := faultRow{Fault: e.Fault, Resolved: e.Target, Start: stamp(r.History, e.Time), Note: e.Detail}
			if m := stepNumber.FindStringSubmatch(e.Detail); m != nil {
				n, _ := strconv.Atoi(m[1])
				w := written[n]
				row.Step, row.At, row.Target, row.For = n, w.At, w.Target, w.For
			}
			if e.Kind == model.FaultStart {
				open[e.Fault+" "+e.Target] = len(rows)
			} else {
				row.Resolved, row.Start = string(e.Kind), ""
				row.Note = fmt.Sprintf("%s at %s", e.Detail, stamp(r.History, e.Time))
			}
			rows = append(rows, row)
		case model.FaultEnd:
			if i, ok := open[e.Fault+" "+e.Target]; ok {
				rows[i].Heal = stamp(r.History, e.Time)
				delete(open, e.Fault+" "+e.Target)
			}
		}
	}
	return rows
}

// stamp is a history time in harness seconds, with the wall clock (UTC)
// next to it when the history records its start.
func stamp(h model.History, t int64) string {
	s := fmt.Sprintf("%.3f s", float64(t)/1e9)
	if wall, ok := h.Wall(t); ok {
		s += wall.UTC().Format(" (15:04:05.000 UTC)")
	}
	return s
}

// fileLink is one file of the report, with what it is for.
type fileLink struct{ Name, About string }

// runPage renders index.html; timeline is the SVG drawn inline.
func runPage(r Run, s Summary, timeline []byte) ([]byte, error) {
	var files []fileLink
	for _, name := range s.Files {
		files = append(files, fileLink{name, aboutFile(name, r.Verdict)})
	}
	for _, name := range slices.Sorted(maps.Keys(r.Logs)) {
		files = append(files, fileLink{"logs/" + name + ".log", "the log of " + name + "; each line's t= is harness seconds"})
	}
	agent := "agent " + agentOf(s)
	started := "not recorded"
	if wall, ok := r.History.Wall(0); ok {
		started = wall.UTC().Format(time.RFC3339Nano)
	}
	var page bytes.Buffer
	err := runTemplate.Execute(&page, map[string]any{
		"Run": r, "Summary": s, "First": r.Verdict.First(), "Marks": numbered(r.Verdict), "Agent": agent,
		"Clock": r.History.ClockName(), "Started": started, "Faults": faultRows(r), "Files": files,
		"Timeline": template.HTML(timeline), // drawn by Timeline, which escapes every name it writes
	})
	return page.Bytes(), err
}

var runTemplate = template.Must(template.New("run").Funcs(template.FuncMap{
	"upper":    upperStatus,
	"describe": func(p model.Property) string { return p.Describe() },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Run.Name}}: {{upper .Summary.Status}} · syncsim</title>
<style>
body { font-family: sans-serif; margin: 1.5em 2em; max-width: 1300px; }
table { border-collapse: collapse; margin: .5em 0 1em; }
td, th { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
.fail { color: #b00; } .pass { color: #070; } .undecided { color: #a60; }
.verdict { font-size: 110%; max-width: 70em; }
#violations li { margin: .3em 0; max-width: 75em; }
#timeline { overflow-x: auto; border: 1px solid #eee; }
.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
</style></head>
<body>
<h1>{{.Run.Name}}: <span class="{{.Summary.Status}}">{{upper .Summary.Status}}</span></h1>
<p>Seed {{.Run.Seed}} · {{.Agent}} · clock {{.Clock}} · started {{.Started}} · ran {{printf "%.1f" .Summary.Seconds}} s.
Times below are seconds since the start, with UTC beside them.
Run it again: <code>syncsim run scenario.json</code>{{if .Run.Mutant}} (<code>syncsim replay --mutant {{.Run.Mutant}} .</code>){{end}}.</p>
{{with .First}}<p class="verdict"><strong class="{{.Status}}">{{.Property}} {{.Status}}.</strong> {{.Summary}}</p>{{end}}
{{if .Marks}}<h2>Violations</h2>
<ol id="violations">{{range .Marks}}<li id="list-{{.N}}"><a href="#violation-{{.N}}">{{.Property}}, marked {{.N}} on the timeline</a>: {{.Text}}</li>
{{end}}</ol>{{range .Summary.Results}}{{if .More}}<p>{{.Property}}: {{.More}} more violations were found and not listed.</p>{{end}}{{end}}{{end}}
<h2>Timeline</h2>
<div id="timeline">{{.Timeline}}</div>
<h2>Properties</h2>
<table id="properties"><tr><th>property</th><th>status</th><th>counted</th><th>what was seen</th><th>checks that applied</th></tr>
{{range .Summary.Results}}<tr><td><b>{{.Property}}</b> {{describe .Property}}</td><td class="{{.Status}}">{{.Status}}</td><td>{{if .Expected}}yes{{else}}no (the scenario does not expect it to hold){{end}}</td><td>{{.Summary}}</td><td>{{range $i, $c := .Checks}}{{if $i}}; {{end}}{{$c}}{{end}}</td></tr>
{{end}}</table>
<h2>Figures</h2>
<table id="figures">
<tr><td>handovers (the old owner released)</td><td>{{.Summary.Handover}}</td></tr>
<tr><td>failovers (the old owner crashed or fenced itself)</td><td>{{.Summary.Failover}}</td></tr>
<tr><td>events, work intervals, faults</td><td>{{.Summary.Events}}, {{.Summary.Workers}}, {{.Summary.Faults}}</td></tr>
</table>
<h2>Scenario</h2>
{{if .Faults}}<table id="faults"><tr><th>step</th><th>at</th><th>fault</th><th>target as written</th><th>resolved to</th><th>started</th><th>healed</th><th>as recorded</th></tr>
{{range .Faults}}<tr><td>{{if .Step}}{{.Step}}{{end}}</td><td>{{.At}}{{with .For}} for {{.}}{{end}}</td><td>{{.Fault}}</td><td>{{.Target}}</td><td>{{.Resolved}}</td><td class="num">{{.Start}}</td><td class="num">{{.Heal}}</td><td>{{.Note}}</td></tr>
{{end}}</table>{{else}}<p>No faults ran.</p>{{end}}
<h2>Files</h2>
<ul id="files">{{range .Files}}<li><a href="{{.Name}}">{{.Name}}</a>: {{.About}}</li>
{{end}}</ul>
</body></html>
`))
