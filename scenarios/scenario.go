// Package scenarios holds the Scenario type and its file format, the scripted
// catalogue, and the code that runs a scenario end to end: sim records a
// history, model checks it, reports writes it down.
package scenarios

import (
	"bytes"
	"cmp"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/syncsim/syncsim/internal/readfile"
	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/sim"
)

// Version is the scenario file format this package reads and writes.
const Version = 1

// Scenario is a world and a timeline of faults, plus the properties the
// world must keep. It is data: a JSON file runs the same as a catalogue entry.
type Scenario struct {
	Version     int              `json:"version"`
	Name        string           `json:"name"`
	Description string           `json:"description,omitempty"`
	Expect      []model.Property `json:"expect"`
	sim.Setup
	// AllowQuorumLoss permits timelines that take a majority of the etcd
	// members down at once; without it such a timeline is rejected.
	AllowQuorumLoss bool       `json:"allow_quorum_loss,omitempty"`
	Steps           []sim.Step `json:"steps"`
	// Agent is what the agent this scenario was written for declares of
	// itself, used when the run declares nothing (scenarios.Options.Agent).
	Agent *sim.Declared `json:"agent,omitempty"`
}

// Limits on the world a scenario may ask for; docs/limits.md says why.
// maxAgents and maxSyncs are what BenchmarkWorldSize shows the harness runs
// against the reference agent on two cores, with margin: 30 agents and 200
// syncs passed, 100 agents and 300 syncs did not (a larger world fails
// progress or readiness because the harness is starved, not the agent).
const (
	maxMembers = 7
	maxAgents  = 30
	maxSyncs   = 150
	// maxName leaves room in a report directory's name (a 19-character
	// time prefix, a "-shrunk" or "-2" suffix) well under 255 bytes.
	maxName = 100
)

// Bounds on the durations of a scenario: what a run can mean. A timeline
// longer than an hour is no test anyone waits for, and with each bounded
// "at" + "for" cannot overflow.
const (
	maxAt       = time.Hour
	maxFor      = time.Hour
	maxQuiet    = 10 * time.Minute
	maxLeaseTTL = time.Minute
)

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Decode reads a scenario strictly: unknown fields, trailing data and any
// invalid value are errors that name the field and what would be valid.
func Decode(data []byte) (*Scenario, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var sc Scenario
	if err := dec.Decode(&sc); err != nil {
		return nil, explainJSON(data, int(dec.InputOffset()), err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the scenario object")
	}
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	return &sc, nil
}

// explainJSON says where a decoding error is and, for an unknown field,
// which fields exist.
func explainJSON(data []byte, offset int, err error) error {
	line := func(off int) int { return 1 + bytes.Count(data[:min(max(off, 0), len(data))], []byte("\n")) }
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Errorf("line %d: %v", line(int(syntax.Offset)), err)
	}
	if strings.HasPrefix(err.Error(), "json: unknown field") {
		return fmt.Errorf("line %d: %s; a scenario has %s, and a step has %s", line(offset),
			strings.TrimPrefix(err.Error(), "json: "), strings.Join(jsonFields(reflect.TypeFor[Scenario]()), ", "),
			strings.Join(jsonFields(reflect.TypeFor[sim.Step]()), ", "))
	}
	// Name the value in the file's words: json's own errors give Go's
	// names, or (from a type's UnmarshalJSON) no field at all.
	path, want, located := locate(data, reflect.TypeFor[Scenario](), "")
	if located == nil || !json.Valid(data) { // truncated: no value is to blame
		return fmt.Errorf("line %d: %w", line(offset), err)
	}
	where := cmp.Or(path, "the scenario")
	var typ *json.UnmarshalTypeError
	if errors.As(located, &typ) {
		if orig := (*json.UnmarshalTypeError)(nil); errors.As(err, &orig) {
			offset = int(orig.Offset) // where in the file; typ's is within the value
		}
		return fmt.Errorf("line %d: %s is %s; it must be %s", line(offset), where, describeValue(typ.Value), describeType(want))
	}
	return fmt.Errorf("%s: %w", where, located)
}

// jsonFields lists the JSON names of a struct's fields, embedded ones included.
func jsonFields(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if f.Anonymous {
			names = append(names, jsonFields(f.Type)...)
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// Load reads a scenario file.
func Load(path string) (*Scenario, error) {
	data, err := readfile.Regular(path, readfile.MaxScenario)
	if err != nil {
		return nil, err
	}
	sc, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}

// Validate checks that the scenario can run as written.
func (sc *Scenario) Validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	switch {
	case sc.Version == 0:
		bad(`"version" is missing; this syncsim writes version %d`, Version)
	case sc.Version > Version:
		bad(`"version" %d is newer than this syncsim reads (up to %d)`, sc.Version, Version)
	}
	switch {
	case utf8.RuneCountInString(sc.Name) > maxName:
		bad(`"name" is %d characters long; at most %d (it names the report directory)`, utf8.RuneCountInString(sc.Name), maxName)
	case !validName.MatchString(sc.Name):
		bad(`"name" %q must be lower-case letters, digits and dashes`, sc.Name)
	}
	sc.validateWorld(bad)
	errs = append(errs, model.CheckExpect(sc.Expect)...)
	if sc.Agent != nil {
		for _, p := range sc.Agent.Problems() {
			bad(`"agent": %s`, p)
		}
	}
	sc.validateSteps(bad)
	if len(errs) > 0 {
		return fmt.Errorf("invalid scenario %q:\n  %s", shortName(sc.Name), strings.Join(errs, "\n  "))
	}
	return nil
}

// shortName is the scenario's name cut to maxName characters, for error
// messages about a name that may be too long.
func shortName(name string) string {
	if r := []rune(name); len(r) > maxName {
		return string(r[:maxName]) + "…"
	}
	return name
}

// validateWorld checks the setup: sizes within the limits and durations
// within their bounds.
func (sc *Scenario) validateWorld(bad func(string, ...any)) {
	if sc.Members < 1 || sc.Members > maxMembers {
		bad(`"members" is %d; it must be 1 to %d`, sc.Members, maxMembers)
	}
	if sc.Agents < 1 || sc.Agents > maxAgents {
		bad(`"agents" is %d; it must be 1 to %d`, sc.Agents, maxAgents)
	}
	if sc.Syncs < 1 || sc.Syncs > maxSyncs {
		bad(`"syncs" is %d; it must be 1 to %d`, sc.Syncs, maxSyncs)
	}
	ttl := sc.LeaseTTL.Std()
	if ttl < time.Second || ttl > maxLeaseTTL || ttl%time.Second != 0 {
		bad(`"lease_ttl" is %v; etcd grants whole seconds, "1s" to %q`, ttl, sim.Duration(maxLeaseTTL))
	}
	if m := sc.SafetyMargin.Std(); m <= 0 || m >= ttl*2/3 {
		bad(`"safety_margin" is %v; it must be above 0 and below two thirds of "lease_ttl"`, m)
	}
	if q := sc.Quiet.Std(); q > maxQuiet {
		bad(`"quiet" is %v; at most %q`, q, sim.Duration(maxQuiet))
	}
}

// validateSteps checks each step against the world and the timeline as a
// whole: targets that can exist, parameters that fit the fault (the fault's
// own rules, from sim's registry), and never a majority of members down at
// once unless the scenario allows it.
func (sc *Scenario) validateSteps(bad func(string, ...any)) {
	agents, syncs := sc.reach()
	for i, s := range sc.Steps {
		fp, ok := sim.Lookup(s.Fault)
		if !ok {
			bad(`"steps"[%d]: "fault" %q is unknown; known faults are %s`, i, s.Fault, knownFaults())
			continue
		}
		problems := append(stepDurations(s), sim.CheckStep(fp, s, sc.Setup)...)
		if p := sc.checkTarget(fp, s, agents, syncs); p != "" {
			problems = append([]string{p}, problems...)
		}
		for _, p := range problems {
			bad(`"steps"[%d] (%s): %s`, i, s.Fault, p)
		}
	}
	if lost := sim.QuorumLost(sc.Members, sc.Steps); lost != "" && !sc.AllowQuorumLoss {
		bad(`"steps": %s; set "allow_quorum_loss" if that is the point`, lost)
	}
}

// stepDurations lists a step's "at" or "for" beyond its bound.
func stepDurations(s sim.Step) []string {
	var bad []string
	if s.At.Std() > maxAt {
		bad = append(bad, fmt.Sprintf(`"at" is %v; at most %q`, s.At, sim.Duration(maxAt)))
	}
	if s.For.Std() > maxFor {
		bad = append(bad, fmt.Sprintf(`"for" is %v; at most %q`, s.For, sim.Duration(maxFor)))
	}
	return bad
}

// reach is how many agents and syncs the timeline may name, counting joins
// and additions.
func (sc *Scenario) reach() (agents, syncs int) {
	agents, syncs = sc.Agents, sc.Syncs
	for _, s := range sc.Steps {
		switch s.Fault {
		case sim.Join:
			agents++
		case sim.AddSync:
			if ref, err := sim.ParseTarget(sim.SyncTarget, s.Target); err == nil {
				syncs = max(syncs, ref.N)
			}
		}
	}
	return agents, syncs
}

// checkTarget says what is wrong with the step's target, if anything: one
// that does not parse, or names an agent, sync or member that cannot exist.
func (sc *Scenario) checkTarget(fp sim.Failpoint, s sim.Step, agents, syncs int) string {
	kind := fp.Target()
	ref, err := sim.ParseTarget(kind, s.Target)
	switch {
	case err != nil:
		return err.Error()
	case kind == sim.AgentTarget && ref.Role == sim.Literal && ref.N > agents:
		return fmt.Sprintf(`target %q does not exist; the scenario has agents 1 to %d (counting joins)`, s.Target, agents)
	case kind == sim.AgentTarget && ref.Role == sim.OwnerOf && ref.N > syncs,
		kind == sim.SyncTarget && s.Fault != sim.AddSync && ref.N > syncs:
		return fmt.Sprintf(`target %q does not exist; the scenario has syncs 1 to %d (counting additions)`, s.Target, syncs)
	case kind == sim.MemberTarget && ref.Role == sim.Literal && ref.N >= sc.Members:
		return fmt.Sprintf(`target %q does not exist; the cluster has members m0 to m%d`, s.Target, sc.Members-1)
	}
	return ""
}

func knownFaults() string {
	var names []string
	for _, f := range sim.Registry() {
		names = append(names, string(f.Name()))
	}
	return strings.Join(names, ", ")
}

// GoString is the scenario as one line of JSON, so that rapid's logs of a
// drawn scenario (and its failure files) read like a scenario file.
func (sc *Scenario) GoString() string {
	data, err := json.Marshal(sc)
	if err != nil {
		panic(err) // a Scenario always encodes
	}
	return string(data)
}

// Encode writes the scenario as an indented JSON file.
func (sc *Scenario) Encode() []byte {
	data, err := json.MarshalIndent(sc, "", "  ")
	if err != nil {
		panic(err) // a Scenario always encodes
	}
	return append(data, '\n')
}

//go:embed catalogue/*.json
var catalogueFS embed.FS

// Catalogue returns the scripted scenarios, sorted by name.
func Catalogue() []*Scenario {
	files, err := fs.Glob(catalogueFS, "catalogue/*.json")
	if err != nil {
		panic(err)
	}
	var out []*Scenario
	for _, f := range files {
		data, _ := catalogueFS.ReadFile(f)
		sc, err := Decode(data)
		if err != nil {
			panic(fmt.Sprintf("catalogue file %s: %v", f, err)) // TestCatalogueDecodes reports it first
		}
		out = append(out, sc)
	}
	slices.SortFunc(out, func(a, b *Scenario) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Find returns the catalogue scenario with the given name.
func Find(name string) (*Scenario, error) {
	var names []string
	for _, sc := range Catalogue() {
		if sc.Name == name {
			return sc, nil
		}
		names = append(names, sc.Name)
	}
	return nil, fmt.Errorf("no scenario named %q; the catalogue has: %s", name, strings.Join(names, ", "))
}
