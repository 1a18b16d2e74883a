package reports

import (
	"bytes"
	"cmp"
	"fmt"
	"html"
	"html/template"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/syncsim/syncsim/model"
)

// Porcupine's visualizer draws every partition on one page, on client rows
// numbered 0, 1, 2 that all partitions share, as wide as all of the run's
// operations side by side. So each page here is one sync's operations (or
// a window of them), on rows of their own, one per agent incarnation,
// checked again on their own to draw porcupine's account of them.
const (
	maxSyncPages = 5  // violating syncs drawn per property
	windowOps    = 24 // operations drawn around a violation, or on a passing run's page
	pageBudget   = 5 * time.Second
)

// pageDir holds the per-sync pages an overview links.
const pageDir = "porcupine"

// porcupinePages renders, for each porcupine check, an overview page
// (stem.html) and under porcupine/ a page per violating sync around its
// first violation, with that sync's full history a link away; a run
// without violations gets one bounded page, of the busiest sync.
func porcupinePages(r Run) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, stem := range slices.Sorted(maps.Keys(r.Verdict.Pictures)) {
		p := r.Verdict.Pictures[stem]
		bySync := map[string][]porcupine.Operation{}
		for _, op := range p.Operations {
			s := opOf(op).Sync
			bySync[s] = append(bySync[s], op)
		}
		var links []syncLink
		for _, v := range firstViolations(r.Verdict, p.Property) {
			ops := bySync[v.Sync]
			window := windowAround(ops, v.From, v.To)
			l := syncLink{Sync: v.Sync, Ops: len(ops), Violation: v.Text,
				Window: fmt.Sprintf("%s/%s-%s.html", pageDir, stem, slug(v.Sync)), Full: fmt.Sprintf("%s/%s-%s-full.html", pageDir, stem, slug(v.Sync))}
			head := fmt.Sprintf("%s: %s on %s, %d of its %d operations around the violation", r.Name, p.Property, v.Sync, len(window), len(ops))
			if err := drawPage(files, l.Window, r, p, window, head, `<a href="../`+stem+`.html">overview</a> · <a href="`+strings.TrimPrefix(l.Full, pageDir+"/")+`">the sync's full history</a>`); err != nil {
				return nil, err
			}
			head = fmt.Sprintf("%s: %s on %s, all %d operations", r.Name, p.Property, v.Sync, len(ops))
			if err := drawPage(files, l.Full, r, p, ops, head, `<a href="../`+stem+`.html">overview</a> · <a href="`+strings.TrimPrefix(l.Window, pageDir+"/")+`">around the violation</a>`); err != nil {
				return nil, err
			}
			links = append(links, l)
		}
		if len(links) == 0 && len(bySync) > 0 {
			busiest := slices.MaxFunc(slices.Sorted(maps.Keys(bySync)), func(a, b string) int { return cmp.Compare(len(bySync[a]), len(bySync[b])) })
			ops := bySync[busiest]
			from := firstFault(r.History)
			window := windowAround(ops, from, from)
			l := syncLink{Sync: busiest, Ops: len(ops), Window: fmt.Sprintf("%s/%s-%s.html", pageDir, stem, slug(busiest))}
			head := fmt.Sprintf("%s: %s on %s, the busiest sync, %d of its %d operations from the first fault", r.Name, p.Property, busiest, len(window), len(ops))
			if err := drawPage(files, l.Window, r, p, window, head, `<a href="../`+stem+`.html">overview</a>`); err != nil {
				return nil, err
			}
			links = append(links, l)
		}
		var page bytes.Buffer
		err := overviewTemplate.Execute(&page, map[string]any{"Run": r, "Stem": stem, "Picture": p, "Links": links, "Syncs": len(bySync), "Result": resultOf(r.Verdict, p.Property)})
		if err != nil {
			return nil, err
		}
		files[stem+".html"] = page.Bytes()
	}
	return files, nil
}

type syncLink struct {
	Sync, Violation, Window, Full string
	Ops                           int
}

func opOf(op porcupine.Operation) model.Op {
	o, _ := op.Metadata.(model.Op)
	return o
}

func resultOf(v model.Verdict, p model.Property) *model.Result {
	for i := range v.Results {
		if v.Results[i].Property == p {
			return &v.Results[i]
		}
	}
	return nil
}

// firstViolations are the first violation of property p on each sync, up
// to maxSyncPages syncs.
func firstViolations(v model.Verdict, p model.Property) []model.Violation {
	var out []model.Violation
	seen := map[string]bool{}
	if res := resultOf(v, p); res != nil {
		for _, viol := range res.Violations {
			if viol.Sync != "" && !seen[viol.Sync] && len(out) < maxSyncPages {
				seen[viol.Sync] = true
				out = append(out, viol)
			}
		}
	}
	return out
}

func firstFault(h model.History) int64 {
	for _, e := range h.Events {
		if e.Kind == model.FaultStart {
			return e.Time
		}
	}
	return 0
}

// windowAround is every operation overlapping [from, to] and up to
// windowOps/2 on either side of them, fewer before than after so the
// violation shows near the page's left edge.
func windowAround(ops []porcupine.Operation, from, to int64) []porcupine.Operation {
	ops = slices.Clone(ops)
	slices.SortStableFunc(ops, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
	first := slices.IndexFunc(ops, func(op porcupine.Operation) bool { return op.Return >= from })
	if first < 0 {
		first = len(ops)
	}
	last := first
	for last < len(ops) && ops[last].Call <= to {
		last++
	}
	lo, hi := max(first-windowOps/3, 0), min(max(last, first+1)+windowOps*2/3, len(ops))
	return ops[lo:hi]
}

// slug makes a sync's name a file name: "(leadership)" is "leadership".
func slug(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		case r == '(' || r == ')':
			return -1
		}
		return '_'
	}, s)
}

// drawPage checks ops again and draws them with porcupine: a row per
// agent incarnation, named; the faults and leaders in their span; a tick
// a second; head as the page's title and heading; nav as its links.
func drawPage(files map[string][]byte, name string, r Run, p model.Picture, ops []porcupine.Operation, head, nav string) error {
	ops, rows := clientsByIncarnation(ops)
	_, info := porcupine.CheckOperationsVerbose(p.Model, ops, pageBudget)
	from, to := span(ops)
	info.AddAnnotations(clipped(annotations(r.History), from, to))
	var page bytes.Buffer
	if err := porcupine.Visualize(p.Model, info, &page); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	out, err := dress(page.String(), head, nav, rows)
	if err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	files[name] = []byte(out)
	return nil
}

// clientsByIncarnation renumbers the operations' clients: one per agent
// incarnation, in order of name and life, and returns their names.
func clientsByIncarnation(ops []porcupine.Operation) ([]porcupine.Operation, []string) {
	ids := map[model.Op]int{}
	var keys []model.Op
	for _, op := range ops {
		k := opOf(op)
		k.Sync = ""
		if _, ok := ids[k]; !ok {
			ids[k] = 0
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b model.Op) int {
		return cmp.Or(naturalCompare(a.Agent, b.Agent), cmp.Compare(a.Incarnation, b.Incarnation))
	})
	names := make([]string, len(keys))
	for i, k := range keys {
		ids[k] = i
		names[i] = fmt.Sprintf("%s #%d", k.Agent, k.Incarnation)
	}
	out := make([]porcupine.Operation, len(ops))
	for i, op := range ops {
		k := opOf(op)
		k.Sync = ""
		op.ClientId = ids[k]
		out[i] = op
	}
	return out, names
}

// span is the time the operations cover; an operation that never
// returned counts at its call.
func span(ops []porcupine.Operation) (int64, int64) {
	from, to := model.Never, int64(0)
	for _, op := range ops {
		from = min(from, op.Call)
		to = max(to, op.Call)
		if op.Return != model.Never {
			to = max(to, op.Return)
		}
	}
	return from, to
}

// clipped keeps the annotations overlapping [from, to], cut to it, and
// adds a tick a second: every timestamp widens porcupine's page, so none
// outside the operations' span is drawn.
func clipped(all []porcupine.Annotation, from, to int64) []porcupine.Annotation {
	var out []porcupine.Annotation
	if from > to {
		return nil // no operations: no span to draw in (and no ticks to count from Never)
	}
	for _, a := range all {
		if a.End < from || a.Start > to {
			continue
		}
		a.Start, a.End = max(a.Start, from), min(a.End, to)
		out = append(out, a)
	}
	for s := (from + 999_999_999) / 1e9; s*1e9 <= to; s++ {
		out = append(out, porcupine.Annotation{Tag: "seconds", Start: s * 1e9, End: s * 1e9, Description: fmt.Sprintf("%d s", s), TextColor: "#555"})
	}
	return out
}

// annotations draws fault windows and leadership changes, each labelled
// with its time.
func annotations(h model.History) []porcupine.Annotation {
	var out []porcupine.Annotation
	seen := map[string]bool{}
	for _, f := range model.Faults(h) {
		end := f.End
		if end == model.Never {
			end = f.Start
		}
		key := fmt.Sprint(f.What, f.Start)
		if seen[key] { // a crash step, and the crash it caused
			continue
		}
		seen[key] = true
		// A row per target: faults on different targets overlap in time,
		// and porcupine overprints annotations that share a row.
		_, target, _ := strings.Cut(f.What, " ")
		out = append(out, porcupine.Annotation{Tag: "fault " + cmp.Or(target, "(cluster)"), Start: f.Start, End: end, Description: f.What,
			Details: fmt.Sprintf("%s, %s to %s (%s)", f.What, stamp(h, f.Start), stamp(h, end), f.Detail), BackgroundColor: "#fde2a7"})
	}
	for _, e := range h.Events {
		if e.Kind == model.LeaderWon {
			out = append(out, porcupine.Annotation{Tag: "leader", Start: e.Time, End: e.Time, Description: e.Agent + " leads",
				Details: fmt.Sprintf("term %d, from %s", e.Token, stamp(h, e.Time))})
		}
	}
	return out
}

// dress gives porcupine's page its title, a heading with links, and names
// on its client rows, which porcupine numbers. It edits porcupine's HTML
// at three fixed strings, and fails if they are gone, so a porcupine
// upgrade that moves them breaks a test, not a report.
func dress(page, head, nav string, rows []string) (string, error) {
	names := make([]string, len(rows))
	for i, n := range rows {
		names[i] = fmt.Sprintf("%q", n)
	}
	edits := []struct{ old, new string }{
		{"<title>Porcupine</title>", "<title>" + html.EscapeString(head) + "</title>"},
		{"<div id=\"canvas\"></div>", `<div id="syncsim-head"><b>` + html.EscapeString(head) + `</b><br>` + nav +
			` · <a href="../index.html">the run's page</a> · rows are agent incarnations; hover for times (ns since the start)</div><div id="canvas"></div>`},
		{"      render(data)\n", "      render(data)\n" + nameRows(strings.Join(names, ", "))},
		{"</style>", pageStyle + "</style>"},
	}
	for _, e := range edits {
		if !strings.Contains(page, e.old) {
			return "", fmt.Errorf("porcupine's page no longer holds %q, where syncsim names the page and its rows", e.old)
		}
		page = strings.Replace(page, e.old, e.new, 1)
	}
	return page, nil
}

const pageStyle = `
#syncsim-head { margin: 40px 10px 0; font-size: 14px; }
#canvas { margin: 10px 0 0 100px; }
#canvas svg { overflow: visible; }
`

// nameRows is the script that names porcupine's numbered client rows and
// brings the first violation into view.
func nameRows(names string) string {
	return `      ;(() => {
        const names = [` + names + `]
        for (const t of document.querySelectorAll('#canvas svg text[text-anchor="end"]')) {
          const i = Number(t.textContent)
          if (/^\d+$/.test(t.textContent) && i < names.length) t.textContent = names[i]
        }
        const bad = document.querySelector('.linearization-invalid.linearization-point')
        if (bad && bad.getBoundingClientRect().right > window.innerWidth) bad.scrollIntoView({inline: 'center', block: 'nearest'})
      })()
`
}

var overviewTemplate = template.Must(template.New("overview").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Run.Name}}: {{.Picture.Property}}, porcupine · syncsim</title>
<style>body { font-family: sans-serif; margin: 1.5em 2em; max-width: 70em; } td, th { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; } table { border-collapse: collapse; }</style></head>
<body>
<h1>{{.Run.Name}}: {{.Picture.Property}}, as porcupine checked it</h1>
<p>{{.Picture.About}}. {{with .Result}}<b>{{.Status}}</b>: {{.Summary}}{{end}}</p>
<p>The check covers {{.Syncs}} partitions (syncs{{if eq .Stem "linearizability"}}, and leadership{{end}}), each checked on its own. Each page below draws one of them, a row per agent incarnation.
<a href="index.html">The run's page</a> has the timeline of them all.</p>
<table id="syncs"><tr><th>sync</th><th>operations</th><th>pages</th><th>why</th></tr>
{{range .Links}}<tr><td>{{.Sync}}</td><td>{{.Ops}}</td><td><a href="{{.Window}}">{{if .Violation}}around the violation{{else}}a window{{end}}</a>{{with .Full}} · <a href="{{.}}">full history</a>{{end}}</td><td>{{.Violation}}</td></tr>
{{end}}</table>
</body></html>
`))
