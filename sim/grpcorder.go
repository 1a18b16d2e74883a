package sim

import (
	"math/rand/v2"
	"sync"
	_ "unsafe" // for go:linkname

	_ "google.golang.org/grpc/balancer/endpointsharding" // defines randIntN
	_ "google.golang.org/grpc/balancer/pickfirst"        // its internal package defines RandShuffle
)

// grpc picks where a client connects with math/rand/v2's global functions,
// which no seed reaches: endpointsharding starts its round robin at a
// random endpoint, and pick-first shuffles addresses. Which member an
// agent's client talks to decides which of two concurrent requests the
// raft leader sees first, so on the simulated clock these draws come from
// the scenario's seed instead. Their variables are package-level (grpc
// swaps them in its own tests), so linkname reaches them.
var (
	//go:linkname grpcRandIntN google.golang.org/grpc/balancer/endpointsharding.randIntN
	grpcRandIntN func(int) int
	//go:linkname grpcRandShuffle google.golang.org/grpc/balancer/pickfirst/internal.RandShuffle
	grpcRandShuffle func(int, func(int, int))
	//go:linkname grpcRandFloat64 google.golang.org/grpc/balancer/pickfirst/internal.RandFloat64
	grpcRandFloat64 func() float64
)

// seedGRPC makes grpc's balancers draw from seed until the returned
// function restores them.
func seedGRPC(seed int64) (restore func()) {
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(uint64(seed), 0x67727063))
	intN, shuffle, float := grpcRandIntN, grpcRandShuffle, grpcRandFloat64
	grpcRandIntN = func(n int) int { mu.Lock(); defer mu.Unlock(); return rng.IntN(n) }
	grpcRandShuffle = func(n int, swap func(int, int)) { mu.Lock(); defer mu.Unlock(); rng.Shuffle(n, swap) }
	grpcRandFloat64 = func() float64 { mu.Lock(); defer mu.Unlock(); return rng.Float64() }
	return func() { grpcRandIntN, grpcRandShuffle, grpcRandFloat64 = intN, shuffle, float }
}
