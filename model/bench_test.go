package model

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"
)

// syntheticHistory builds a clean history of about n operations over syncs
// syncs: each sync passes between four agents every 50 commits, one commit
// in 100 has an unknown outcome, and etcd's log holds every claim and
// checkpoint write.
func syntheticHistory(n, syncs int) History {
	var evs []Event
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
				Event{Time: step(), Kind: ClaimStart, Agent: agent, Sync: sync},
				Event{Time: step(), Kind: EtcdPut, Key: "claims/" + sync, Token: token, Rev: token, Value: agent},
				Event{Time: step(), Kind: WorkStart, Agent: agent, Sync: sync, Worker: id, Token: token, Value: last})
			ops += 2
			pos := 0
			if last != "" {
				cp, _ := ParseCheckpoint(last)
				pos = cp.N
			}
			for c := 0; c < 50 && ops < perSync; c++ {
				pos++
				cp := Checkpoint{N: pos, Token: token}.String()
				call := step()
				outcome := OK
				if c%100 == 99 {
					outcome = Unknown
				}
				evs = append(evs, Event{Time: step(), Call: call, Kind: Commit, Agent: agent, Sync: sync, Worker: id, Value: cp, Outcome: outcome},
					Event{Time: step(), Kind: EtcdPut, Key: "checkpoints/" + sync, Token: 1, Rev: token + int64(c) + 1, Value: cp})
				last = cp
				ops++
			}
			evs = append(evs,
				Event{Time: step(), Kind: WorkExit, Agent: agent, Sync: sync, Worker: id},
				Event{Time: step(), Kind: EtcdDelete, Key: "claims/" + sync, Token: token, Rev: token + 999},
				Event{Time: step(), Kind: ReleaseDone, Agent: agent, Sync: sync, Outcome: OK})
			ops += 2
		}
	}
	slices.SortStableFunc(evs, func(a, b Event) int { return cmp.Compare(a.Time, b.Time) })
	return History{Version: HistoryVersion, Events: evs}
}

func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("ops=%d", n), func(b *testing.B) {
			h := syntheticHistory(n, 1000)
			if v := Check(h, Options{Expect: []Property{ExclusiveWork, FencedEffects, StopMeansStop}}); v.Status != Pass {
				b.Fatalf("a clean synthetic history fails: %s: %s", v, v.First().Summary)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for b.Loop() {
				Check(h, Options{Expect: []Property{ExclusiveWork, FencedEffects, StopMeansStop}, Timeout: time.Minute})
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(n), "B/history-op")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/history-op")
		})
	}
}
