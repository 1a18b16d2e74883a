package agent

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func TestAssignExamples(t *testing.T) {
	tests := []struct {
		name    string
		agents  []string
		syncs   []string
		current map[string]string
		want    map[string]string
	}{
		{"no agents", nil, []string{"s1"}, nil, map[string]string{}},
		{"fresh", []string{"b", "a"}, []string{"s1", "s2", "s3"}, nil,
			map[string]string{"s1": "a", "s2": "a", "s3": "b"}},
		{"a joiner takes only the excess", []string{"a", "b", "c"}, []string{"s1", "s2", "s3", "s4"},
			map[string]string{"s1": "a", "s2": "a", "s3": "b", "s4": "b"},
			map[string]string{"s1": "a", "s2": "a", "s3": "b", "s4": "c"}},
		{"a dead agent's syncs move, the rest stay", []string{"a", "c"}, []string{"s1", "s2", "s3", "s4"},
			map[string]string{"s1": "a", "s2": "b", "s3": "c", "s4": "b"},
			map[string]string{"s1": "a", "s2": "a", "s3": "c", "s4": "c"}},
		{"removed syncs are dropped", []string{"a"}, []string{"s1"},
			map[string]string{"s1": "a", "gone": "a"},
			map[string]string{"s1": "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Assign(tt.agents, tt.syncs, tt.current); !maps.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestAssignProperties checks balance, completeness, determinism,
// stickiness and minimal movement on random inputs.
func TestAssignProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pool := []string{"a", "b", "c", "d", "e", "f", "g"}
		agents := rapid.SliceOfNDistinct(rapid.SampledFrom(pool), 0, len(pool), rapid.ID).Draw(t, "agents")
		nsyncs := rapid.IntRange(0, 40).Draw(t, "syncs")
		var syncs []string
		for i := range nsyncs {
			syncs = append(syncs, fmt.Sprintf("s%02d", i))
		}
		current := map[string]string{}
		for _, s := range syncs {
			if rapid.Bool().Draw(t, "assigned "+s) {
				current[s] = rapid.SampledFrom(pool).Draw(t, "owner "+s)
			}
		}
		got := Assign(agents, syncs, current)

		if len(agents) == 0 {
			if len(got) != 0 {
				t.Fatalf("no agents, but assigned %v", got)
			}
			return
		}
		load := map[string]int{}
		for _, a := range agents {
			load[a] = 0
		}
		for _, s := range syncs {
			a, ok := got[s]
			if !ok {
				t.Fatalf("sync %s unassigned", s)
			}
			if _, live := load[a]; !live {
				t.Fatalf("sync %s assigned to %s, not a live agent", s, a)
			}
			load[a]++
		}
		if len(got) != len(syncs) {
			t.Fatalf("assigned %d entries for %d syncs", len(got), len(syncs))
		}
		loads := slices.Collect(maps.Values(load))
		if slices.Max(loads)-slices.Min(loads) > 1 {
			t.Fatalf("unbalanced: %v", load)
		}

		// Determinism: argument order does not matter.
		shuffled := slices.Clone(agents)
		slices.Reverse(shuffled)
		if again := Assign(shuffled, reversed(syncs), current); !maps.Equal(again, got) {
			t.Fatalf("not deterministic: %v vs %v", got, again)
		}

		// Stickiness and minimality: only the unavoidable excess of live
		// owners moves, where the extra slots go to the largest holders.
		held := map[string]int{}
		for _, s := range syncs {
			if a, ok := current[s]; ok && slices.Contains(agents, a) {
				held[a]++
			}
		}
		base, extra := len(syncs)/len(agents), len(syncs)%len(agents)
		sizes := slices.Collect(maps.Values(held))
		for len(sizes) < len(agents) {
			sizes = append(sizes, 0)
		}
		slices.SortFunc(sizes, func(x, y int) int { return cmp.Compare(y, x) })
		minMoves := 0
		for i, n := range sizes {
			share := base
			if i < extra {
				share++
			}
			minMoves += max(0, n-share)
		}
		moves := 0
		for _, s := range syncs {
			if a, ok := current[s]; ok && slices.Contains(agents, a) && got[s] != a {
				moves++
			}
		}
		if moves != minMoves {
			t.Fatalf("moved %d syncs away from live owners; the minimum is %d", moves, minMoves)
		}
	})
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}
