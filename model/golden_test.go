package model_test

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/model/modeltest"
)

var update = flag.Bool("update", false, "rewrite the expected outputs under testdata")

// TestExplanations pins what the checkers say about small histories:
// testdata/checks/*.txt, each a history in the compact form parseCase
// reads, then the verdict with every result and violation.
func TestExplanations(t *testing.T) {
	modeltest.Cases(t, "testdata/checks/*.txt", *update, func(t *testing.T, input string) string {
		h, opts, err := parseCase(input)
		if err != nil {
			t.Fatal(err)
		}
		return explain(model.Check(h, opts))
	})
}

// explain writes a verdict out whole: every result, its summary and every
// violation.
func explain(v model.Verdict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "verdict: %s\n", v.Status)
	for _, r := range v.Results {
		counted := ""
		if !r.Expected {
			counted = " (not counted)"
		}
		fmt.Fprintf(&b, "%s %s%s: %s\n", r.Property, r.Status, counted, r.Summary)
		for i, viol := range r.Violations {
			fmt.Fprintf(&b, "  %d. [%s %v %v %.3f..%.3f] %s\n", i+1, viol.Sync, viol.Agents, viol.Workers, float64(viol.From)/1e9, float64(viol.To)/1e9, viol.Text)
		}
		if r.More > 0 {
			fmt.Fprintf(&b, "  and %d more\n", r.More)
		}
	}
	return b.String()
}

// parseCase reads a case's input. Blank lines and lines starting with #
// are skipped; "expect P1 P2 ..." and "lease 2s" set the options (expect
// defaults to P1, P2 and P4); every other line is an event:
//
//	<ms> <kind> [field=value ...]
//
// with fields named as in history.json; call is in milliseconds too, and a
// value may be quoted.
func parseCase(input string) (model.History, model.Options, error) {
	h := model.History{Version: model.HistoryVersion}
	opts := model.Options{Expect: []model.Property{model.ExclusiveWork, model.FencedEffects, model.StopMeansStop}}
	for n, line := range strings.Split(input, "\n") {
		fields, err := split(line)
		switch {
		case err != nil:
			return h, opts, fmt.Errorf("line %d: %w", n+1, err)
		case len(fields) == 0 || strings.HasPrefix(fields[0], "#"):
		case fields[0] == "expect":
			opts.Expect = []model.Property{}
			for _, p := range fields[1:] {
				opts.Expect = append(opts.Expect, model.Property(p))
			}
		case fields[0] == "lease":
			opts.LeaseTTL, err = time.ParseDuration(fields[1])
		default:
			var e model.Event
			e, err = parseEvent(fields)
			h.Events = append(h.Events, e)
		}
		if err != nil {
			return h, opts, fmt.Errorf("line %d: %q: %w", n+1, line, err)
		}
	}
	slices.SortStableFunc(h.Events, func(a, b model.Event) int { return cmp.Compare(a.Time, b.Time) })
	return h, opts, nil
}

// numeric are the event fields written as JSON numbers; ms those given in
// milliseconds.
var numeric, ms = map[string]bool{"t": true, "call": true, "lease": true, "worker": true, "token": true, "rev": true}, map[string]bool{"t": true, "call": true}

func parseEvent(fields []string) (model.Event, error) {
	if len(fields) < 2 {
		return model.Event{}, fmt.Errorf("want <ms> <kind> [field=value ...]")
	}
	obj := map[string]any{"kind": fields[1]}
	for i, f := range append([]string{"t=" + fields[0]}, fields[2:]...) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return model.Event{}, fmt.Errorf("field %d: %q is not name=value", i, f)
		}
		obj[k] = v
		if !numeric[k] {
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return model.Event{}, fmt.Errorf("%s=%q is not a number", k, v)
		}
		if ms[k] {
			n *= 1e6
		}
		obj[k] = int64(n)
	}
	data, _ := json.Marshal(obj)
	var e model.Event
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	return e, dec.Decode(&e)
}

// split splits a line at spaces, keeping double-quoted values whole.
func split(line string) ([]string, error) {
	var out []string
	for rest := strings.TrimSpace(line); rest != ""; rest = strings.TrimSpace(rest) {
		i := strings.IndexAny(rest, " \"")
		switch {
		case i < 0:
			return append(out, rest), nil
		case rest[i] == ' ':
			out, rest = append(out, rest[:i]), rest[i:]
			continue
		}
		q, err := strconv.QuotedPrefix(rest[i:])
		if err != nil {
			return nil, err
		}
		v, _ := strconv.Unquote(q)
		out, rest = append(out, rest[:i]+v), rest[i+len(q):]
	}
	return out, nil
}
