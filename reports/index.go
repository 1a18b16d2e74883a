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

	"github.com/syncsim/syncsim/internal/readfile"
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
	// Violations are the first few of every property's, in order; More
	// counts the rest.
	Violations []string
	More       int
	// Page is the run's own page (summary.md in reports written before
	// index.html); Pages are the porcupine pages the report holds, by
	// file name.
	Page  string
	Pages []string
}

// indexedViolations is how many violations a run's row lists.
const indexedViolations = 3

// newEntry describes the run in dir from its summary.
func newEntry(dir string, sum Summary) entry {
	e := entry{Dir: dir, Summary: sum, First: model.Verdict{Results: sum.Results}.First()}
	for _, r := range sum.Results {
		for _, v := range r.Violations {
			if len(e.Violations) < indexedViolations {
				e.Violations = append(e.Violations, fmt.Sprintf("%s: %s", r.Property, v.Text))
			} else {
				e.More++
			}
		}
		e.More += r.More
	}
	e.Pages = []string{"linearizability.html", "effects.html"} // what reports held before they listed their files
	e.Page = "summary.md"
	if sum.Files != nil {
		e.Pages = slices.DeleteFunc(slices.Clone(sum.Files), func(f string) bool {
			return !strings.HasSuffix(f, ".html") || f == Page+".html" || strings.Contains(f, "/") // a run's page, and the pages its overviews link
		})
	}
	if slices.Contains(sum.Files, Page+".html") {
		e.Page = Page + ".html"
	}
	return e
}

// indexTitle marks an index.html that syncsim wrote.
const indexTitle = "<title>syncsim reports</title>"

// CheckRoot says why dir is not a reports directory, if it is not: one
// holds a run directory with a summary.json, or an index.html syncsim
// wrote. Rebuilding the index of any other directory would write a page
// of no runs into it.
func CheckRoot(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%s is not a reports directory: %w", dir, err)
	}
	if len(entries) == 0 {
		return fmt.Errorf("%s is empty: it holds no run reports yet (a run writes the index with its first report)", dir)
	}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			if st, err := os.Stat(filepath.Join(dir, e.Name(), "summary.json")); err == nil && st.Mode().IsRegular() {
				return nil
			}
		}
	}
	if page, err := readfile.Regular(filepath.Join(dir, "index.html"), readfile.MaxSummary); err == nil && bytes.Contains(page, []byte(indexTitle)) {
		return nil
	}
	return fmt.Errorf("%s is not a reports directory: no directory in it holds a run's summary.json, and it has no index.html written by syncsim", dir)
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
		raw, err := readfile.Regular(filepath.Join(root, d.Name(), "summary.json"), readfile.MaxSummary)
		if err != nil {
			continue
		}
		var sum Summary
		if json.Unmarshal(raw, &sum) != nil {
			continue
		}
		runs = append(runs, newEntry(d.Name(), sum))
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
	"upper": upperStatus,
	"agent": agentOf,
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8">` + indexTitle + `
<style>
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; }
td, th { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
.fail { color: #b00; font-weight: bold; }
.pass { color: #070; }
.undecided { color: #a60; font-weight: bold; }
.why ol { margin: 4px 0; padding-left: 1.5em; }
.why { max-width: 60em; font-size: 90%; }
</style></head>
<body>
<h1>syncsim reports</h1>
<p>{{len .Runs}} runs, failures first; rebuilt {{.Built}}. Each run's directory holds its scenario, history, summary, pictures and logs.</p>
<table id="runs">
<tr><th>status</th><th>scenario</th><th>seed</th><th>agent</th><th>seconds</th><th>finished</th><th>first failure; violations</th><th>open</th></tr>
{{range .Runs}}<tr class="run {{.Summary.Status}}">
<td class="{{.Summary.Status}}">{{upper .Summary.Status}}</td>
<td><a href="{{.Dir}}/{{.Page}}">{{.Summary.Name}}</a></td>
<td>{{.Summary.Seed}}</td>
<td>{{agent .Summary}}</td>
<td>{{printf "%.1f" .Summary.Seconds}}</td>
<td>{{.Summary.Finished.Format "2006-01-02 15:04:05"}}</td>
<td class="why">{{with .First}}{{.Property}} {{.Status}}: {{.Summary}}{{end}}{{if .Violations}}<ol class="violations">{{range .Violations}}<li>{{.}}</li>{{end}}</ol>{{end}}{{if .More}}and {{.More}} more; see <a href="{{.Dir}}/{{.Page}}">the run's page</a>{{end}}</td>
<td><a href="{{.Dir}}/timeline.svg">timeline</a>{{$dir := .Dir}}{{range .Pages}} · <a href="{{$dir}}/{{.}}">{{.}}</a>{{end}} · <a href="{{.Dir}}/{{.Page}}#files">files</a></td>
</tr>
{{end}}</table>
</body></html>
`))

// upperStatus is a status as the pages shout it.
func upperStatus(s model.Status) string {
	switch s {
	case model.Fail:
		return "FAIL"
	case model.Pass:
		return "PASS"
	}
	return "UNDECIDED"
}
