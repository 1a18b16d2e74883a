// Package scenarios holds the Scenario type and its file format, the scripted
// catalogue, and the code that runs a scenario end to end: sim records a
// history, model checks it, reports writes it down.
package scenarios

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

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
	Steps []sim.Step `json:"steps"`
}

// Limits on the world a scenario may ask for.
const (
	maxMembers = 7
	maxAgents  = 100
	maxSyncs   = 100000
)

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Decode reads a scenario strictly: unknown fields, trailing data and any
// invalid value are errors that name the field and what would be valid.
func Decode(data []byte) (*Scenario, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var sc Scenario
	if err := dec.Decode(&sc); err != nil {
		return nil, explainJSON(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the scenario object")
	}
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	return &sc, nil
}

// explainJSON adds the position to a JSON syntax error.
func explainJSON(data []byte, err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		line := 1 + bytes.Count(data[:min(int(syntax.Offset), len(data))], []byte("\n"))
		return fmt.Errorf("line %d: %v", line, err)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Errorf("field %q: %s is not a valid %s", typ.Field, typ.Value, typ.Type)
	}
	return err
}

// Load reads a scenario file.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
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
	if !validName.MatchString(sc.Name) {
		bad(`"name" %q must be lower-case letters, digits and dashes`, sc.Name)
	}
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
	if ttl < time.Second || ttl%time.Second != 0 {
		bad(`"lease_ttl" is %v; etcd grants whole seconds, at least "1s"`, ttl)
	}
	if m := sc.SafetyMargin.Std(); m <= 0 || m >= ttl*2/3 {
		bad(`"safety_margin" is %v; it must be above 0 and below two thirds of "lease_ttl"`, m)
	}
	for _, p := range sc.Expect {
		if !slices.Contains(model.Properties, p) {
			bad(`"expect" names %q; known properties are %v`, p, model.Properties)
		}
	}
	for i, s := range sc.Steps {
		where := fmt.Sprintf(`"steps"[%d]`, i)
		if _, ok := sim.Faults[s.Fault]; !ok {
			bad(`%s: "fault" %q is unknown; known faults are %s`, where, s.Fault, knownFaults())
		}
		agent, ownerOf, err := s.Target.Parse()
		switch {
		case err != nil:
			bad(`%s: %v`, where, err)
		case agent > sc.Agents:
			bad(`%s: target %q does not exist; the scenario has agents 1 to %d`, where, s.Target, sc.Agents)
		case ownerOf > sc.Syncs:
			bad(`%s: target %q does not exist; the scenario has syncs 1 to %d`, where, s.Target, sc.Syncs)
		}
		if s.Fault == sim.Isolate && s.For == 0 {
			bad(`%s: an "isolate" step needs "for", how long the agent stays cut off`, where)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid scenario %q:\n  %s", sc.Name, strings.Join(errs, "\n  "))
	}
	return nil
}

func knownFaults() string {
	var names []string
	for f := range sim.Faults {
		names = append(names, string(f))
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
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
