package sim

import (
	"context"
	"reflect"
	"strings"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/syncsim/syncsim/agent/layout"
	"github.com/syncsim/syncsim/model"
)

// heldLimit bounds how long a request sent into a held network waits to be
// delivered; every hold ends long before (at the latest when the timeline
// does), and a closed client ends it at once.
const heldLimit = time.Minute

// tap sees every unary request the agent's client sends, as the agent's
// own end of the wire. It starts a stall armed on the agent's next write,
// keeps a request sent into a held network there until the hold ends, and
// records which agent's requests wrote assignments, which the values
// written do not say.
type tap struct {
	link   network
	rec    *recorder
	agent  string
	prefix string
}

func (t *tap) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if keys := written(req, t.prefix); len(keys) > 0 {
		t.link.fire(keys) // an armed stall begins as this write is sent
	}
	call := t.rec.now()
	if !t.link.isHeld() {
		err := invoke(ctx, method, req, reply, cc, opts...)
		t.applied(req, reply, err, call)
		return err
	}
	// Sent into a held network, the request stays there until the hold
	// ends and is delivered then, whatever the agent did meanwhile: its
	// cancel, sent after the request, cannot overtake it. The agent waits
	// as it would on a silent network, until its own deadline.
	out := reflect.New(reflect.TypeOf(reply).Elem()).Interface()
	result := make(chan error, 1)
	go func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), heldLimit)
		defer cancel()
		err := invoke(dctx, method, req, out, cc, opts...)
		t.applied(req, out, err, call)
		result <- err
	}()
	select {
	case err := <-result:
		if err == nil {
			reflect.ValueOf(reply).Elem().Set(reflect.ValueOf(out).Elem())
		}
		return err
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}

// applied records an assignment write etcd accepted, with the agent that
// sent it, whether or not the agent was still waiting for the answer.
func (t *tap) applied(req, reply any, err error, call int64) {
	if err != nil {
		return
	}
	var keys []string
	var rev int64
	switch r := reply.(type) {
	case *pb.TxnResponse:
		txn := req.(*pb.TxnRequest)
		ops := txn.Failure
		if r.Succeeded {
			ops = txn.Success
		}
		keys, rev = opKeys(ops, t.prefix), r.Header.GetRevision()
	case *pb.PutResponse, *pb.DeleteRangeResponse:
		keys = written(req, t.prefix)
		rev = r.(interface{ GetHeader() *pb.ResponseHeader }).GetHeader().GetRevision()
	}
	for _, k := range keys {
		if strings.HasPrefix(k, layout.Dir(layout.Assign)) {
			t.rec.record(model.Event{Kind: model.Wrote, Agent: t.agent, Call: call, Key: k, Rev: rev})
			return // one event per request: its keys share the revision
		}
	}
}

// written lists the keys, relative to prefix, that req may write.
func written(req any, prefix string) []string {
	switch r := req.(type) {
	case *pb.TxnRequest:
		return append(opKeys(r.Success, prefix), opKeys(r.Failure, prefix)...)
	case *pb.PutRequest:
		return relative(r.Key, prefix)
	case *pb.DeleteRangeRequest:
		return relative(r.Key, prefix)
	}
	return nil
}

func opKeys(ops []*pb.RequestOp, prefix string) []string {
	var keys []string
	for _, op := range ops {
		switch o := op.Request.(type) {
		case *pb.RequestOp_RequestPut:
			keys = append(keys, relative(o.RequestPut.Key, prefix)...)
		case *pb.RequestOp_RequestDeleteRange:
			keys = append(keys, relative(o.RequestDeleteRange.Key, prefix)...)
		}
	}
	return keys
}

func relative(key []byte, prefix string) []string {
	if k, ok := strings.CutPrefix(string(key), prefix); ok {
		return []string{k}
	}
	return nil
}
