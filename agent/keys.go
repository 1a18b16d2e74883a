package agent

import "strings"

// keys lays out the key space under one prefix (see the package doc).
type keys struct{ prefix string }

func (k keys) syncs() string              { return k.prefix + "syncs/" }
func (k keys) agents() string             { return k.prefix + "agents/" }
func (k keys) leader() string             { return k.prefix + "leader/" }
func (k keys) assignments() string        { return k.prefix + "assign/" }
func (k keys) sync(name string) string    { return k.syncs() + name }
func (k keys) agent(id string) string     { return k.agents() + id }
func (k keys) assign(sync string) string  { return k.assignments() + sync }
func (k keys) claims() string             { return k.prefix + "claims/" }
func (k keys) checkpoints() string        { return k.prefix + "checkpoints/" }
func (k keys) claim(sync string) string   { return k.claims() + sync }
func (k keys) checkpoint(s string) string { return k.checkpoints() + s }

// name returns the last path element of key below dir.
func name(dir, key string) string { return strings.TrimPrefix(key, dir) }
