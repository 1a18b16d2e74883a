package model_test

import (
	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/model/modeltest"

	"fmt"
	"runtime"
	"testing"
	"time"
)

func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("ops=%d", n), func(b *testing.B) {
			h := modeltest.Synthetic(n, 1000)
			if v := model.Check(h, model.Options{Expect: []model.Property{model.ExclusiveWork, model.FencedEffects, model.StopMeansStop}}); v.Status != model.Pass {
				b.Fatalf("a clean synthetic history fails: %s: %s", v, v.First().Summary)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for b.Loop() {
				model.Check(h, model.Options{Expect: []model.Property{model.ExclusiveWork, model.FencedEffects, model.StopMeansStop}, Timeout: time.Minute})
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(n), "B/history-op")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/history-op")
		})
	}
}
