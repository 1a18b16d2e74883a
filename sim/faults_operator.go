package sim

import (
	"cmp"
	"fmt"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/model"
)

// Faults an operator makes: agents joining, syncs changing, compaction.
const (
	Join       Fault = "join"
	Compact    Fault = "compact"
	AddSync    Fault = "add-sync"
	RemoveSync Fault = "remove-sync"
	ChangeSync Fault = "change-sync"
)

var operatorFaults = []Failpoint{
	&fault{name: Join, target: NoTarget, weight: 1,
		doc: "start one more agent, `agent-N+1`",
		inject: func(x *executor, _ int, _ Step, _ Resolved, _ func()) (func(), error) {
			return nil, x.agents.join()
		}},
	&fault{name: Compact, target: NoTarget, weight: 1,
		doc: "compact etcd's history at the current revision",
		inject: func(x *executor, _ int, _ Step, _ Resolved, _ func()) (func(), error) {
			return nil, x.operator.compact()
		}},
	&fault{name: AddSync, target: SyncTarget, weight: 1, params: []string{"definition"}, validate: validDefinition,
		doc:    "an operator adds the sync (`\"definition\"` optional)",
		inject: injectAddSync},
	&fault{name: ChangeSync, target: SyncTarget, weight: 1, params: []string{"definition"}, validate: validDefinition,
		doc:    "an operator changes the sync's definition (`\"definition\"` optional)",
		inject: injectAddSync},
	&fault{name: RemoveSync, target: SyncTarget, weight: 1,
		doc: "an operator removes the sync",
		inject: func(x *executor, _ int, _ Step, t Resolved, _ func()) (func(), error) {
			if err := x.operator.removeSync(t.Sync); err != nil {
				return nil, err
			}
			x.rec.record(model.Event{Kind: model.SyncRemoved, Sync: t.Sync})
			return nil, nil
		}},
}

func validDefinition(s Step, _ Setup) []string {
	if s.Definition == "" {
		return nil
	}
	if err := agent.ValidDefinition([]byte(s.Definition)); err != nil {
		return []string{fmt.Sprintf(`"definition": %v`, err)}
	}
	return nil
}

// injectAddSync creates or changes the sync; by default its definition
// names the step, so every change is a change.
func injectAddSync(x *executor, step int, s Step, t Resolved, _ func()) (func(), error) {
	def := cmp.Or(s.Definition, fmt.Sprintf(`{"name":%q,"step":%d}`, t.Sync, step+1))
	if err := x.operator.addSync(t.Sync, def); err != nil {
		return nil, err
	}
	x.rec.record(model.Event{Kind: model.SyncAdded, Sync: t.Sync, Value: def})
	return nil, nil
}
