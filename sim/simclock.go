//go:build simclock

package sim

import (
	"context"
	"net"

	"go.etcd.io/etcd/client/pkg/v3/transport"
)

// This file is built only with the simclock tag, against the go.work that
// internal/etcdpatch writes, where etcd's transport package has DialHook.

func init() {
	setPeerDial = func(dial func(ctx context.Context, network, addr string) (net.Conn, error)) {
		transport.DialHook = dial
	}
}
