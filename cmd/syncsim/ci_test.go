package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The CI files this test checks, from the module root.
const (
	workflowDir = "../../.github/workflows"
	k8sDir      = "../../docs/k8s"
)

// workflow is the part of a GitHub Actions workflow this test reads;
// decoding refuses any other key, so a misspelt one ("run-on") fails.
type workflow struct {
	Name string `json:"name"`
	// On is the trigger. YAML 1.1, which sigs.k8s.io/yaml reads, takes
	// the bare key on for true; GitHub reads it as "on".
	On   map[string]any `json:"on"`
	True map[string]any `json:"true"`
	Env  map[string]any `json:"env"`
	Jobs map[string]job `json:"jobs"`
}

type job struct {
	RunsOn   string         `json:"runs-on"`
	Needs    any            `json:"needs"`
	If       string         `json:"if"`
	Timeout  int            `json:"timeout-minutes"`
	Env      map[string]any `json:"env"`
	Strategy struct {
		FailFast *bool            `json:"fail-fast"`
		Matrix   map[string][]any `json:"matrix"`
	} `json:"strategy"`
	Steps []step `json:"steps"`
}

type step struct {
	Name string         `json:"name"`
	Uses string         `json:"uses"`
	Run  string         `json:"run"`
	If   string         `json:"if"`
	With map[string]any `json:"with"`
	Env  map[string]any `json:"env"`
}

// k8sObject is the part of a Kubernetes object this test reads.
type k8sObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		CompletionMode string `json:"completionMode"`
		Completions    int    `json:"completions"`
		Template       struct {
			Spec struct {
				RestartPolicy string      `json:"restartPolicy"`
				Containers    []container `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

type container struct {
	Command []string `json:"command"`
	Args    []string `json:"args"`
	Env     []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"env"`
}

// yamlDocs reads every YAML document of a file as JSON, refusing
// duplicate keys.
func yamlDocs(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs [][]byte
	for doc := range strings.SplitSeq(string(data), "\n---\n") {
		j, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			t.Fatalf("%s is not valid YAML: %v", path, err)
		}
		docs = append(docs, j)
	}
	return docs
}

func readWorkflow(t *testing.T, path string) workflow {
	t.Helper()
	docs := yamlDocs(t, path)
	if len(docs) != 1 {
		t.Fatalf("%s holds %d YAML documents; a workflow is one", path, len(docs))
	}
	dec := json.NewDecoder(bytes.NewReader(docs[0]))
	dec.DisallowUnknownFields()
	var w workflow
	if err := dec.Decode(&w); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if w.On == nil {
		w.On = w.True
	}
	return w
}

// TestWorkflows: every checked-in workflow is a workflow GitHub can run,
// test.yml runs make test on every push, and nightly.yml runs 8 explore
// shards, uploads their reports, and merges them in a final job.
func TestWorkflows(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(workflowDir, "*.yml"))
	if len(paths) == 0 {
		t.Fatalf("no workflows under %s", workflowDir)
	}
	flows := map[string]workflow{}
	for _, path := range paths {
		w := readWorkflow(t, path)
		checkJobs(t, path, w)
		flows[filepath.Base(path)] = w
	}

	test := flows["test.yml"]
	if _, ok := test.On["push"]; !ok || !slices.ContainsFunc(allSteps(test), runs("make test")) {
		t.Errorf("test.yml must run make test on push: on %v", test.On)
	}

	nightly := flows["nightly.yml"]
	if _, ok := nightly.On["schedule"]; !ok {
		t.Errorf("nightly.yml has no schedule: on %v", nightly.On)
	}
	explore, ok := nightly.Jobs["explore"]
	if shards := explore.Strategy.Matrix["shard"]; !ok || len(shards) != 8 {
		t.Fatalf("nightly.yml's explore job must have a matrix of 8 shards: %v", explore.Strategy.Matrix)
	}
	for _, want := range []func(step) bool{runs("explore --shard ${{ matrix.shard }}/8"), runs("--junit"), uses("actions/upload-artifact")} {
		if !slices.ContainsFunc(explore.Steps, want) {
			t.Errorf("nightly.yml's explore job lacks a step: it must explore its shard with --junit and upload the reports")
		}
	}
	merge, ok := nightly.Jobs["merge"]
	if !ok || merge.Needs != "explore" || !strings.Contains(merge.If, "always()") ||
		!slices.ContainsFunc(merge.Steps, uses("actions/download-artifact")) || !slices.ContainsFunc(merge.Steps, runs("report --merge")) {
		t.Errorf("nightly.yml needs a merge job after explore, run whatever the shards found, that downloads their reports and runs report --merge: %+v", merge)
	}
}

// checkJobs checks what every job needs: a runner, steps that each use an
// action or run a command, jobs it needs that exist, and commands that are
// make targets or syncsim commands with flags that exist.
func checkJobs(t *testing.T, path string, w workflow) {
	t.Helper()
	if w.Name == "" || w.On == nil || len(w.Jobs) == 0 {
		t.Errorf("%s needs a name, a trigger (on) and jobs", path)
	}
	for name, j := range w.Jobs {
		if j.RunsOn == "" || len(j.Steps) == 0 {
			t.Errorf("%s: job %s needs runs-on and steps", path, name)
		}
		if need, ok := j.Needs.(string); ok {
			if _, exists := w.Jobs[need]; !exists {
				t.Errorf("%s: job %s needs %s, which is not a job", path, name, need)
			}
		}
		for i, s := range j.Steps {
			if (s.Uses == "") == (s.Run == "") {
				t.Errorf("%s: job %s step %d must either use an action or run a command", path, name, i+1)
			}
			for line := range strings.Lines(s.Run) {
				checkCommand(t, path, line)
			}
		}
	}
}

func allSteps(w workflow) []step {
	var all []step
	for _, j := range w.Jobs {
		all = append(all, j.Steps...)
	}
	return all
}

func runs(command string) func(step) bool {
	return func(s step) bool { return strings.Contains(s.Run, command) }
}

func uses(action string) func(step) bool {
	return func(s step) bool { return strings.HasPrefix(s.Uses, action+"@") }
}

// expression is a GitHub expression or a Kubernetes variable: a value the
// engine fills in.
var expression = regexp.MustCompile(`\$\{\{[^}]*\}\}|\$\([A-Z_]+\)`)

// checkCommand checks a command line: make must name targets of the
// Makefile, and syncsim a command and flags it has.
func checkCommand(t *testing.T, where, line string) {
	t.Helper()
	fields := strings.Fields(expression.ReplaceAllString(line, "X"))
	if len(fields) == 0 {
		return
	}
	switch {
	case fields[0] == "make":
		targets := makeTargets(t)
		for _, target := range fields[1:] {
			if !strings.Contains(target, "=") && !slices.Contains(targets, target) {
				t.Errorf("%s runs make %s, which is not a target of the Makefile", where, target)
			}
		}
	case filepath.Base(fields[0]) == "syncsim":
		checkSyncsim(t, where, fields[1:])
	}
}

// checkSyncsim checks that syncsim has the command args name, and every
// flag they give, by asking the command for its usage.
func checkSyncsim(t *testing.T, where string, args []string) {
	t.Helper()
	if len(args) == 0 {
		t.Errorf("%s runs syncsim with no command", where)
		return
	}
	code, _, usage := syncsim(args[0], "-h")
	if code != exitPass {
		t.Errorf("%s runs syncsim %s, which is not a command: %s", where, args[0], usage)
		return
	}
	for _, a := range args[1:] {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && !strings.Contains(usage, "  -"+name+" ") && !strings.Contains(usage, "  -"+name+"\n") {
			t.Errorf("%s runs syncsim %s with %s, a flag it does not have", where, args[0], a)
		}
	}
}

func makeTargets(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, m := range regexp.MustCompile(`(?m)^([a-z][a-z0-9_-]*):`).FindAllStringSubmatch(string(data), -1) {
		targets = append(targets, m[1])
	}
	return targets
}

// TestKubernetesCampaign: the manifests are Kubernetes objects; the
// campaign is an Indexed Job whose JOB_COMPLETIONS matches its completions
// (syncsim reads both), running syncsim explore without --shard (which
// would override them), and the merge runs report --merge.
func TestKubernetesCampaign(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	var indexed, merging int
	for _, path := range paths {
		for _, doc := range yamlDocs(t, path) {
			var o k8sObject
			if err := json.Unmarshal(doc, &o); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if o.APIVersion == "" || o.Kind == "" {
				t.Errorf("%s holds a document without apiVersion and kind", path)
			}
			if o.Kind != "Job" {
				continue
			}
			if o.Spec.Template.Spec.RestartPolicy != "Never" && o.Spec.Template.Spec.RestartPolicy != "OnFailure" {
				t.Errorf("%s: a Job's pods must not restart Always", path)
			}
			for _, c := range o.Spec.Template.Spec.Containers {
				line := strings.Join(append(slices.Clone(c.Command), c.Args...), " ")
				if c.Command[0] == "sh" {
					line = c.Args[len(c.Args)-1]
				}
				checkCommand(t, path, line)
				switch {
				case strings.Contains(line, "syncsim explore"):
					indexed++
					checkIndexed(t, path, o, c, line)
				case strings.Contains(line, "syncsim report --merge"):
					merging++
				}
			}
		}
	}
	if indexed != 1 || merging != 1 {
		t.Errorf("%s holds %d explore campaigns and %d merges; want one of each", k8sDir, indexed, merging)
	}
}

func checkIndexed(t *testing.T, path string, o k8sObject, c container, line string) {
	t.Helper()
	if o.Spec.CompletionMode != "Indexed" || o.Spec.Completions != 100 {
		t.Errorf("%s: the campaign must be an Indexed Job of 100 completions, not %q of %d", path, o.Spec.CompletionMode, o.Spec.Completions)
	}
	completions := ""
	for _, e := range c.Env {
		if e.Name == "JOB_COMPLETIONS" {
			completions = e.Value
		}
	}
	if completions != "100" {
		t.Errorf("%s: JOB_COMPLETIONS is %q; it must equal the completions, 100", path, completions)
	}
	if strings.Contains(line, "--shard") || !strings.Contains(line, "--seed") {
		t.Errorf("%s: explore must share one --seed and take its shard from the Job, not --shard: %s", path, line)
	}
}
