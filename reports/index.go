package reports

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/syncsim/syncsim/model"
)

// indexing serialises rebuilding the index within a process: runs that
// finish together would otherwise each list the directory before the
// other's report appeared, and the last to write would leave one out.
var indexing sync.Mutex

// entry is one run on the index page.
type entry struct {
	Dir     string
	Summary Summary
	First   *model.Result
}

// Index rebuilds index.html under root from the summaries of the runs
// there, failures first, then newest first, and returns its path. A
// directory without a readable summary (a run being written, or not a
// report) is left out.
func Index(root string) (string, error) {
	indexing.Lock()
	defer indexing.Unlock()
	dirs, err := os.ReadDir(root)
	if err != nil {
		return "", fmt.Errorf("%s: %w", root, err)
	}
	var runs []entry
	for _, d := range dirs {
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") { // .partial-*: a report being written, or abandoned
			continue
		}
		raw, err := os.ReadFile(filepath.Join(root, d.Name(), "summary.json"))
		if err != nil {
			continue
		}
		var e entry
		if json.Unmarshal(raw, &e.Summary) != nil {
			continue
		}
		e.Dir = d.Name()
		e.First = model.Verdict{Results: e.Summary.Results}.First()
		runs = append(runs, e)
	}
	rank := func(s model.Status) int {
		switch s {
		case model.Fail:
			return 0
		case model.Pass:
			return 2
		}
		return 1
	}
	slices.SortFunc(runs, func(a, b entry) int {
		return cmp.Or(cmp.Compare(rank(a.Summary.Status), rank(b.Summary.Status)), b.Summary.Finished.Compare(a.Summary.Finished), cmp.Compare(b.Dir, a.Dir))
	})
	var page bytes.Buffer
	if err := indexPage.Execute(&page, map[string]any{"Runs": runs, "Built": time.Now().UTC().Format(time.RFC3339)}); err != nil {
		return "", err
	}
	path := filepath.Join(root, "index.html")
	tmp, err := os.CreateTemp(root, ".index-")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(page.Bytes()); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", err
	}
	return path, os.Rename(tmp.Name(), path)
}

var indexPage = template.Must(template.New("index").Funcs(template.FuncMap{
	"upper": func(s model.Status) string {
		switch s {
		case model.Fail:
			return "FAIL"
		case model.Pass:
			return "PASS"
		}
		return "UNDECIDED"
	},
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>syncsim reports</title>
<style>
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; }
td, th { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
.fail { color: #b00; font-weight: bold; }
.pass { color: #070; }
.unknown { color: #a60; font-weight: bold; }
.why { max-width: 60em; font-size: 90%; }
</style></head>
<body>
<h1>syncsim reports</h1>
<p>{{len .Runs}} runs, failures first; rebuilt {{.Built}}. Each run's directory holds its scenario, history, summary, pictures and logs.</p>
<table id="runs">
<tr><th>status</th><th>scenario</th><th>seed</th><th>agent</th><th>seconds</th><th>finished</th><th>first failure</th><th>open</th></tr>
{{range .Runs}}<tr class="run {{.Summary.Status}}">
<td class="{{.Summary.Status}}">{{upper .Summary.Status}}</td>
<td><a href="{{.Dir}}/summary.md">{{.Summary.Name}}</a></td>
<td>{{.Summary.Seed}}</td>
<td>{{if .Summary.Mutant}}mutant {{.Summary.Mutant}}{{else}}reference{{end}}</td>
<td>{{printf "%.1f" .Summary.Seconds}}</td>
<td>{{.Summary.Finished.Format "2006-01-02 15:04:05"}}</td>
<td class="why">{{with .First}}{{.Property}} {{.Status}}: {{.Summary}}{{end}}</td>
<td><a href="{{.Dir}}/timeline.svg">timeline</a> · <a href="{{.Dir}}/linearizability.html">P1</a> · <a href="{{.Dir}}/effects.html">P2</a> · <a href="{{.Dir}}/">files</a></td>
</tr>
{{end}}</table>
</body></html>
`))
