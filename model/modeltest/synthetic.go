// Package modeltest builds histories for benchmarks and scale tests of the
// checkers and the reports.
package modeltest

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/syncsim/syncsim/agent/layout"
	"github.com/syncsim/syncsim/model"
)

// Synthetic builds a clean history of about n operations over syncs
// syncs: each sync passes between four agents every 50 commits; every
// fourth tenure has one commit of unknown outcome (that took effect) and
// every third one a failed commit (that did not, so etcd's log lacks it);
// every other handover overlaps, the new owner's claim sent before the old
// owner knew its release done, so porcupine must order the release first;
// and etcd's log holds every claim and checkpoint write.
func Synthetic(n, syncs int) model.History {
	var evs []model.Event
	for s := range syncs {
		evs = append(evs, syncHistory(s, syncs, n/syncs)...)
	}
	slices.SortStableFunc(evs, func(a, b model.Event) int { return cmp.Compare(a.Time, b.Time) })
	return model.History{Version: model.HistoryVersion, Events: evs}
}

// tenureCommits is how many commits each tenure makes.
const tenureCommits = 50

// syncHistory is one sync's events, about ops operations.
func syncHistory(s, syncs, ops int) []model.Event {
	sync := fmt.Sprintf("sync-%d", s)
	claimKey, checkpointKey := layout.Key(layout.Claims, sync), layout.Key(layout.Checkpoints, sync)
	t := int64(s) // syncs interleave in time
	step := func() int64 { t += int64(syncs) * 10; return t }
	var evs []model.Event
	var last string
	claimed := false // the next owner's claim is already sent
	for worker, done := 1, 0; done < ops; worker++ {
		id := s*1_000_000 + worker
		agent := fmt.Sprintf("agent-%d", worker%4)
		token := int64(s*1_000_000 + worker*1000)
		if !claimed {
			evs = append(evs, model.Event{Time: step(), Kind: model.ClaimStart, Agent: agent, Sync: sync})
		}
		evs = append(evs,
			model.Event{Time: step(), Kind: model.EtcdPut, Key: claimKey, Token: token, Rev: token, Value: agent},
			model.Event{Time: step(), Kind: model.WorkStart, Agent: agent, Sync: sync, Worker: id, Token: token, Value: last})
		done += 2
		pos := 0
		if last != "" {
			cp, _ := model.ParseCheckpoint(last)
			pos = cp.N
		}
		for c := 0; c < tenureCommits && done < ops; c++ {
			if worker%3 == 0 && c == 10 { // refused: never in etcd's log
				cp := model.Checkpoint{N: pos + 1, Token: token}.String()
				call := step()
				evs = append(evs, model.Event{Time: step(), Call: call, Kind: model.Commit, Agent: agent, Sync: sync, Worker: id, Value: cp, Outcome: model.Failed})
				done++
			}
			pos++
			cp := model.Checkpoint{N: pos, Token: token}.String()
			call := step()
			outcome := model.OK
			if worker%4 == 0 && c == 25 {
				outcome = model.Unknown
			}
			evs = append(evs, model.Event{Time: step(), Call: call, Kind: model.Commit, Agent: agent, Sync: sync, Worker: id, Value: cp, Outcome: outcome},
				model.Event{Time: step(), Kind: model.EtcdPut, Key: checkpointKey, Token: 1, Rev: token + int64(c) + 1, Value: cp})
			last = cp
			done++
		}
		evs = append(evs, model.Event{Time: step(), Kind: model.WorkExit, Agent: agent, Sync: sync, Worker: id})
		claimed = worker%2 == 0 && done+2 < ops
		if claimed {
			next := fmt.Sprintf("agent-%d", (worker+1)%4)
			evs = append(evs, model.Event{Time: step(), Kind: model.ClaimStart, Agent: next, Sync: sync})
		}
		evs = append(evs,
			model.Event{Time: step(), Kind: model.EtcdDelete, Key: claimKey, Token: token, Rev: token + 999},
			model.Event{Time: step(), Kind: model.ReleaseDone, Agent: agent, Sync: sync, Outcome: model.OK})
		done += 2
	}
	return evs
}
