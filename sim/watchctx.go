package sim

import (
	_ "unsafe" // for go:linkname

	_ "go.etcd.io/etcd/client/v3" // defines valCtxCh
)

// valCtxCh is clientv3's package-level Done channel of the contexts its
// watch streams derive from (watch.go: valCtx.Done). Made at init, outside
// any bubble, it keeps the goroutine context.WithCancel starts for such a
// context from ever being durably blocked, so a bubble with a watch never
// advances its clock. It is never closed: nil (never cancelled) means the
// same and starts no goroutine. Upstream, valCtx.Done could return nil.
//
//go:linkname valCtxCh go.etcd.io/etcd/client/v3.valCtxCh
var valCtxCh chan struct{}

// noWatchDone lets clientv3's watches run in a bubble.
func noWatchDone() { valCtxCh = nil }
