// Package layout is the reference agent's key space below its prefix: the
// directory names and how keys are built and split. The agent writes by it
// and the harness reads etcd's log by it, so both agree by construction.
//
// It imports only the standard library: the agent must not depend on the
// harness.
package layout

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The directories below the prefix.
const (
	Syncs       = "syncs"       // syncs/<sync>: a sync's definition, written by operators
	Agents      = "agents"      // agents/<id>: a live agent, bound to its lease
	Leader      = "leader"      // leader/<lease>: a candidate for leadership; the oldest leads
	Assign      = "assign"      // assign/<sync>: the agent the leader assigned the sync to
	Claims      = "claims"      // claims/<sync>: the owner's claim; its create revision is the fencing token
	Checkpoints = "checkpoints" // checkpoints/<sync>: the last committed checkpoint
)

// Dirs lists every directory, in the order above.
var Dirs = []string{Syncs, Agents, Leader, Assign, Claims, Checkpoints}

// Dir is the key prefix of a directory: "claims/".
func Dir(dir string) string { return dir + "/" }

// Key is the key of name in dir, relative to the prefix: "claims/sync-1".
func Key(dir, name string) string { return dir + "/" + name }

// Split splits a key relative to the prefix into its directory and name;
// a key outside every directory has dir "".
func Split(key string) (dir, name string) {
	dir, name, ok := strings.Cut(key, "/")
	if !ok {
		return "", key
	}
	return dir, name
}

// Prefixed is the layout below one prefix, as the agent addresses etcd.
type Prefixed string

// Dir is dir's key prefix below the prefix.
func (p Prefixed) Dir(dir string) string { return string(p) + Dir(dir) }

// Key is the key of name in dir below the prefix.
func (p Prefixed) Key(dir, name string) string { return string(p) + Key(dir, name) }

// NamePattern is what every sync name and agent id must match. Names appear
// in keys, logs and operator tables, so they hold no '/', no spaces and no
// control characters, and are short enough to print.
const NamePattern = `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`

// MaxNameLen is the longest name NamePattern allows.
const MaxNameLen = 128

var namePattern = regexp.MustCompile(NamePattern)

// ValidName reports whether s may be used as a name of the given kind
// ("sync name", "agent id"); the error quotes s, shortened if long.
func ValidName(kind, s string) error {
	if namePattern.MatchString(s) {
		return nil
	}
	shown := s
	if len(shown) > 40 {
		shown = strings.ToValidUTF8(shown[:40], "") + "…"
	}
	return fmt.Errorf("%s %s (%d bytes) is not allowed: use 1 to %d letters, digits, '.', '_' or '-', starting with a letter or digit",
		kind, strconv.QuoteToASCII(shown), len(s), MaxNameLen)
}
