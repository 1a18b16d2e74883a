package sim

import (
	"fmt"
	"reflect"
	"slices"
	"time"

	wire "github.com/syncsim/syncsim/agent/sink"
	"github.com/syncsim/syncsim/model"
)

// Checks is how a run of an agent declaring d is judged: on the
// properties expect names (nil: all) that d claims to keep, with the
// checks and bounds that fit its design.
func (d Declared) Checks(expect []model.Property, leaseTTL time.Duration) model.Options {
	if expect == nil {
		expect = model.Properties
	}
	if d.Expect != nil {
		expect = slices.DeleteFunc(slices.Clone(expect), func(p model.Property) bool { return !slices.Contains(d.Expect, p) })
	}
	return model.Options{
		Expect:     expect,
		LeaseTTL:   leaseTTL,
		StopWithin: d.StopWithin.Std(),
		OwnLayout:  d.Layout != ReferenceLayout,
		Unbalanced: !d.Balances,
	}
}

// checks is how the run opts describe is judged.
func (o Options) checks(setup Setup) model.Options {
	return o.Agent.Checks(o.Expect, setup.LeaseTTL.Std())
}

// IsZero reports whether d declares nothing.
func (d Declared) IsZero() bool { return reflect.ValueOf(d).IsZero() }

// Problems lists what is wrong with a declaration, one line each.
func (d Declared) Problems() []string {
	var bad []string
	if d.Layout != "" && d.Layout != ReferenceLayout {
		bad = append(bad, fmt.Sprintf(`"layout" is %q; it is %q for the reference key layout, or absent for one of the agent's own`, d.Layout, ReferenceLayout))
	}
	if d.TokenKind != "" && d.TokenKind != wire.Revision && d.TokenKind != wire.Epoch {
		bad = append(bad, fmt.Sprintf(`"token_kind" is %q; it is %q or %q`, d.TokenKind, wire.Revision, wire.Epoch))
	}
	if d.StopWithin < 0 || d.SettleTimeout < 0 {
		bad = append(bad, `"stop_within" and "settle_timeout" cannot be negative`)
	}
	return append(bad, model.CheckExpect(d.Expect)...)
}
