package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/syncsim/syncsim/agent/layout"
)

// ValidDefinition reports whether a sync definition is a JSON object, the
// one thing the agent requires of it; what it means is the Syncer's business.
func ValidDefinition(def []byte) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(def, &obj); err != nil {
		return fmt.Errorf("a sync definition must be a JSON object: %w", err)
	}
	return nil
}

// SyncStatus is what etcd says about one sync.
type SyncStatus struct {
	Name       string `json:"name"`
	Definition string `json:"definition"`
	AssignedTo string `json:"assigned_to"` // the agent the leader chose, "" if none yet
	ClaimedBy  string `json:"claimed_by"`  // the agent holding the claim, "" if none
	Token      int64  `json:"token"`       // the claim's fencing token
	Checkpoint string `json:"checkpoint"`
}

// AddSync creates or replaces a sync definition under prefix, as an operator
// would. A replaced definition restarts the sync's worker. The name must pass
// layout.ValidName.
func AddSync(ctx context.Context, c *clientv3.Client, prefix, name, definition string) error {
	_, err := PutSync(ctx, c, prefix, name, definition)
	return err
}

// Put is what PutSync did.
type Put struct {
	Key      string // the definition's key
	Created  bool   // false when a definition was replaced
	Previous string // the definition replaced
}

// PutSync is AddSync that also says what it did, for an operator to read.
func PutSync(ctx context.Context, c *clientv3.Client, prefix, name, definition string) (Put, error) {
	if err := layout.ValidName("sync name", name); err != nil {
		return Put{}, err
	}
	if err := ValidDefinition([]byte(definition)); err != nil {
		return Put{}, err
	}
	put := Put{Key: keys{withSlash(prefix)}.sync(name)}
	resp, err := c.Put(ctx, put.Key, definition, clientv3.WithPrevKV())
	if err != nil {
		return Put{}, err
	}
	put.Created = resp.PrevKv == nil
	if !put.Created {
		put.Previous = string(resp.PrevKv.Value)
	}
	return put, nil
}

// RemoveSync deletes a sync definition; its owner stops working on it.
func RemoveSync(ctx context.Context, c *clientv3.Client, prefix, name string) error {
	resp, err := c.Delete(ctx, keys{withSlash(prefix)}.sync(name))
	if err == nil && resp.Deleted == 0 {
		return fmt.Errorf("no sync named %q under %s", name, prefix)
	}
	return err
}

// ListSyncs reads every sync with its assignment, claim and checkpoint at
// one revision.
func ListSyncs(ctx context.Context, c *clientv3.Client, prefix string) ([]SyncStatus, error) {
	k := keys{withSlash(prefix)}
	resp, err := c.Txn(ctx).Then(
		clientv3.OpGet(k.syncs(), clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend)),
		clientv3.OpGet(k.assignments(), clientv3.WithPrefix()),
		clientv3.OpGet(k.claims(), clientv3.WithPrefix()),
		clientv3.OpGet(k.checkpoints(), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return nil, err
	}
	byName := map[string]*SyncStatus{}
	var out []SyncStatus
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		out = append(out, SyncStatus{Name: name(k.syncs(), string(kv.Key)), Definition: string(kv.Value)})
	}
	for i := range out {
		byName[out[i].Name] = &out[i]
	}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		if s := byName[name(k.assignments(), string(kv.Key))]; s != nil {
			s.AssignedTo = string(kv.Value)
		}
	}
	for _, kv := range resp.Responses[2].GetResponseRange().Kvs {
		if s := byName[name(k.claims(), string(kv.Key))]; s != nil {
			s.ClaimedBy, s.Token = string(kv.Value), kv.CreateRevision
		}
	}
	for _, kv := range resp.Responses[3].GetResponseRange().Kvs {
		if s := byName[name(k.checkpoints(), string(kv.Key))]; s != nil {
			s.Checkpoint = string(kv.Value)
		}
	}
	return out, nil
}

// AgentStatus is what etcd says about one live agent.
type AgentStatus struct {
	ID       string `json:"id"`
	Leader   bool   `json:"leader"`
	Assigned int    `json:"assigned"` // syncs the leader assigned to it
	Claimed  int    `json:"claimed"`  // syncs it holds the claim on: those it works on
}

// ListAgents reads the live agents, which of them leads (the oldest
// candidate), and how many syncs each is assigned and holds, at one revision.
func ListAgents(ctx context.Context, c *clientv3.Client, prefix string) ([]AgentStatus, error) {
	k := keys{withSlash(prefix)}
	resp, err := c.Txn(ctx).Then(
		clientv3.OpGet(k.agents(), clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend)),
		clientv3.OpGet(k.leader(), clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend), clientv3.WithLimit(1)),
		clientv3.OpGet(k.assignments(), clientv3.WithPrefix()),
		clientv3.OpGet(k.claims(), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return nil, err
	}
	var out []AgentStatus
	byID := map[string]*AgentStatus{}
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		out = append(out, AgentStatus{ID: name(k.agents(), string(kv.Key))})
	}
	for i := range out {
		byID[out[i].ID] = &out[i]
	}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		if a := byID[string(kv.Value)]; a != nil {
			a.Leader = true
		}
	}
	for _, kv := range resp.Responses[2].GetResponseRange().Kvs {
		if a := byID[string(kv.Value)]; a != nil {
			a.Assigned++
		}
	}
	for _, kv := range resp.Responses[3].GetResponseRange().Kvs {
		if a := byID[string(kv.Value)]; a != nil {
			a.Claimed++
		}
	}
	return out, nil
}

func withSlash(prefix string) string {
	if !strings.HasSuffix(prefix, "/") {
		return prefix + "/"
	}
	return prefix
}
