package agent

import (
	"strings"

	"github.com/syncsim/syncsim/agent/layout"
)

// keys lays out the key space under one prefix (see the package doc and
// package layout).
type keys struct{ prefix string }

func (k keys) at() layout.Prefixed        { return layout.Prefixed(k.prefix) }
func (k keys) syncs() string              { return k.at().Dir(layout.Syncs) }
func (k keys) agents() string             { return k.at().Dir(layout.Agents) }
func (k keys) leader() string             { return k.at().Dir(layout.Leader) }
func (k keys) assignments() string        { return k.at().Dir(layout.Assign) }
func (k keys) sync(name string) string    { return k.at().Key(layout.Syncs, name) }
func (k keys) agent(id string) string     { return k.at().Key(layout.Agents, id) }
func (k keys) assign(sync string) string  { return k.at().Key(layout.Assign, sync) }
func (k keys) claims() string             { return k.at().Dir(layout.Claims) }
func (k keys) checkpoints() string        { return k.at().Dir(layout.Checkpoints) }
func (k keys) claim(sync string) string   { return k.at().Key(layout.Claims, sync) }
func (k keys) checkpoint(s string) string { return k.at().Key(layout.Checkpoints, s) }

// name returns the last path element of key below dir.
func name(dir, key string) string { return strings.TrimPrefix(key, dir) }
