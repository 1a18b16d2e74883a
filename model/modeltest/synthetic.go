// Package modeltest builds histories for benchmarks and scale tests of the
// checkers and the reports.
package modeltest

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/syncsim/syncsim/model"
)

// Synthetic builds a clean history of about n operations over syncs
// syncs: each sync passes between four agents every 50 commits, one commit
// in 100 has an unknown outcome, and etcd's log holds every claim and
// checkpoint write.
func Synthetic(n, syncs int) model.History {
	var evs []model.Event
	perSync := n / syncs
	for s := range syncs {
		sync := fmt.Sprintf("sync-%d", s)
		t := int64(s) // syncs interleave in time
		step := func() int64 { t += int64(syncs) * 10; return t }
		var last string
		worker := 0
		for ops := 0; ops < perSync; {
			worker++
			id := s*1_000_000 + worker
			agent := fmt.Sprintf("agent-%d", worker%4)
			token := int64(s*1_000_000 + worker*1000)
			evs = append(evs,
				model.Event{Time: step(), Kind: model.ClaimStart, Agent: agent, Sync: sync},
				model.Event{Time: step(), Kind: model.EtcdPut, Key: "claims/" + sync, Token: token, Rev: token, Value: agent},
				model.Event{Time: step(), Kind: model.WorkStart, Agent: agent, Sync: sync, Worker: id, Token: token, Value: last})
			ops += 2
			pos := 0
			if last != "" {
				cp, _ := model.ParseCheckpoint(last)
				pos = cp.N
			}
			for c := 0; c < 50 && ops < perSync; c++ {
				pos++
				cp := model.Checkpoint{N: pos, Token: token}.String()
				call := step()
				outcome := model.OK
				if c%100 == 99 {
					outcome = model.Unknown
				}
				evs = append(evs, model.Event{Time: step(), Call: call, Kind: model.Commit, Agent: agent, Sync: sync, Worker: id, Value: cp, Outcome: outcome},
					model.Event{Time: step(), Kind: model.EtcdPut, Key: "checkpoints/" + sync, Token: 1, Rev: token + int64(c) + 1, Value: cp})
				last = cp
				ops++
			}
			evs = append(evs,
				model.Event{Time: step(), Kind: model.WorkExit, Agent: agent, Sync: sync, Worker: id},
				model.Event{Time: step(), Kind: model.EtcdDelete, Key: "claims/" + sync, Token: token, Rev: token + 999},
				model.Event{Time: step(), Kind: model.ReleaseDone, Agent: agent, Sync: sync, Outcome: model.OK})
			ops += 2
		}
	}
	slices.SortStableFunc(evs, func(a, b model.Event) int { return cmp.Compare(a.Time, b.Time) })
	return model.History{Version: model.HistoryVersion, Events: evs}
}
