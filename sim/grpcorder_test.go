package sim

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/syncsim/syncsim/sim/memnet"
)

// TestRoundRobinInClientOrder: in a simulated run, a client's round robin
// goes through its ready endpoints in the order it listed them, from the
// first, every time. Released grpc's starts at a random endpoint and
// lists them in a map's order, so five runs agreeing would be chance.
func TestRoundRobinInClientOrder(t *testing.T) {
	listed := []string{"c:1", "a:1", "b:1"}
	for range 5 {
		synctest.Test(t, func(t *testing.T) {
			defer orderGRPC()()
			n := memnet.New()
			var mu sync.Mutex
			var served []string
			for _, addr := range listed {
				l, err := n.Listen(addr)
				if err != nil {
					t.Fatal(err)
				}
				s := grpc.NewServer(grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error {
					mu.Lock()
					served = append(served, addr)
					mu.Unlock()
					return nil
				}))
				go s.Serve(l)
				defer s.Stop()
			}
			r := manual.NewBuilderWithScheme("ordered")
			var eps []resolver.Endpoint
			for _, addr := range listed {
				eps = append(eps, resolver.Endpoint{Addresses: []resolver.Address{{Addr: addr}}})
			}
			r.InitialState(resolver.State{Endpoints: eps})
			cc, err := grpc.NewClient("ordered:///members", grpc.WithResolvers(r),
				grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithContextDialer(n.Dial),
				grpc.WithDefaultServiceConfig(`{"loadBalancingConfig": [{"round_robin": {}}]}`))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			cc.Connect()
			time.Sleep(time.Second) // every endpoint ready
			for range 2 * len(listed) {
				// The handler sends no reply, so the call fails; it was served.
				cc.Invoke(context.Background(), "/syncsim.Test/Call", &emptypb.Empty{}, &emptypb.Empty{})
			}
			mu.Lock()
			defer mu.Unlock()
			if want := slices.Concat(listed, listed); !slices.Equal(served, want) {
				t.Fatalf("calls went to %v, want %v", served, want)
			}
		})
	}
}
