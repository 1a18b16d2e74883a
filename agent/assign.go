package agent

import (
	"cmp"
	"slices"
)

// Assign maps every sync to one of agents. It is a pure function:
//   - balanced: loads differ by at most one;
//   - sticky: a live agent keeps its current syncs up to its share;
//   - minimal: no assignment with these properties moves fewer syncs;
//   - deterministic: the result depends only on the arguments' contents.
//
// current maps syncs to agents and may name dead agents or removed syncs.
// With no agents the result is empty.
func Assign(agents, syncs []string, current map[string]string) map[string]string {
	result := make(map[string]string, len(syncs))
	if len(agents) == 0 {
		return result
	}
	agents = slices.Clone(agents)
	slices.Sort(agents)
	agents = slices.Compact(agents)
	syncs = slices.Clone(syncs)
	slices.Sort(syncs)
	syncs = slices.Compact(syncs)

	kept := make(map[string][]string, len(agents))
	for _, a := range agents {
		kept[a] = nil
	}
	var free []string
	for _, s := range syncs {
		if a, ok := current[s]; ok {
			if _, live := kept[a]; live {
				kept[a] = append(kept[a], s)
				continue
			}
		}
		free = append(free, s)
	}

	// The agents holding the most get the extra slots: that frees the fewest.
	base, extra := len(syncs)/len(agents), len(syncs)%len(agents)
	byLoad := slices.Clone(agents)
	slices.SortStableFunc(byLoad, func(a, b string) int { return cmp.Compare(len(kept[b]), len(kept[a])) })
	share := make(map[string]int, len(agents))
	for i, a := range byLoad {
		share[a] = base
		if i < extra {
			share[a]++
		}
	}

	for _, a := range agents {
		if n := share[a]; len(kept[a]) > n {
			free = append(free, kept[a][n:]...)
			kept[a] = kept[a][:n]
		}
		for _, s := range kept[a] {
			result[s] = a
		}
	}
	slices.Sort(free)
	for _, a := range agents {
		for room := share[a] - len(kept[a]); room > 0; room-- {
			result[free[0]] = a
			free = free[1:]
		}
	}
	return result
}
