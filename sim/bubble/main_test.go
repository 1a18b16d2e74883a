package bubble

import (
	"os"
	"testing"
	_ "unsafe" // for go:linkname

	_ "go.etcd.io/etcd/client/v3" // defines valCtxCh

	"github.com/syncsim/syncsim/sim"
)

// valCtxCh is clientv3's package-level Done channel of the contexts its
// watch streams derive from (watch.go: valCtx.Done). Made at init, outside
// any bubble, it keeps the goroutine context.WithCancel starts for such a
// context from ever being durably blocked, so a bubble with a watch never
// advances its clock. A nil Done channel means "never cancelled" and starts
// no goroutine. Upstream, valCtx.Done could return nil.
//
//go:linkname valCtxCh go.etcd.io/etcd/client/v3.valCtxCh
var valCtxCh chan struct{}

func TestMain(m *testing.M) {
	valCtxCh = nil
	os.Exit(sim.RunTests(m, true))
}
