//go:build simclock

package sim

import (
	"context"
	"net"
	_ "unsafe" // for go:linkname

	"go.etcd.io/etcd/client/pkg/v3/transport"
	_ "go.etcd.io/etcd/client/v3" // defines valCtxCh
)

// This file is built only with the simclock tag, against the go.work that
// internal/etcdpatch writes, where etcd's transport package has DialHook.

func init() {
	setPeerDial = func(dial func(ctx context.Context, network, addr string) (net.Conn, error)) {
		transport.DialHook = dial
	}
	noWatchDone = func() { valCtxCh = nil }
}

// valCtxCh is clientv3's package-level Done channel of the contexts its
// watch streams derive from (watch.go: valCtx.Done). Made at init, outside
// any bubble, it keeps the goroutine context.WithCancel starts for such a
// context from ever being durably blocked, so a bubble with a watch never
// advances its clock. It is never closed: nil (never cancelled) means the
// same and starts no goroutine. Upstream, valCtx.Done could return nil.
//
//go:linkname valCtxCh go.etcd.io/etcd/client/v3.valCtxCh
var valCtxCh chan struct{}
