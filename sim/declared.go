package sim

import (
	wire "github.com/syncsim/syncsim/agent/sink"
	"github.com/syncsim/syncsim/model"
)

// Declared is what an agent under test says of itself: the key layout it
// keeps in etcd, what its fencing tokens mean, and which expectations and
// bounds apply to it. The checks read it to decide which of them apply.
type Declared struct {
	// Layout is "reference" when the agent keeps the reference key layout
	// under the prefix, so the checks that read etcd's log apply; "" for
	// a layout of its own.
	Layout string `json:"layout,omitempty"`
	// TokenKind is what its fencing tokens are: wire.Revision (default)
	// or wire.Epoch.
	TokenKind wire.TokenKind `json:"token_kind,omitempty"`
	// Balances says the agent spreads syncs between its instances, so P3's
	// load balance applies.
	Balances bool `json:"balances,omitempty"`
	// Fenced makes the sink refuse an effect whose token is older than the
	// newest it accepted on the sync, as a well-fenced target would.
	Fenced bool `json:"fenced,omitempty"`
	// StopWithin bounds how long the agent may go on making effects after
	// it was told to stop; 0 is the checks' default.
	StopWithin Duration `json:"stop_within,omitempty"`
	// SettleTimeout bounds the wait for the fleet to settle after the
	// quiet window; 0 is Options.SettleTimeout's default.
	SettleTimeout Duration `json:"settle_timeout,omitempty"`
	// Leads says the agent elects a leader and reports it (its observer's
	// leader-won, or the sink's /v1/leader), so a step may target "leader".
	Leads bool `json:"leads,omitempty"`
	// Expect lists the properties the agent claims to keep; nil means
	// all. A run is judged on those its scenario expects too.
	Expect []model.Property `json:"expect,omitempty"`
}

// ReferenceLayout is Declared.Layout for the reference key layout.
const ReferenceLayout = "reference"

// Reference is what the reference agent declares.
var Reference = Declared{Layout: ReferenceLayout, TokenKind: wire.Revision, Balances: true, Leads: true}
