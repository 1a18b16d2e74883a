package sim

import (
	"testing"
	"time"
)

// TestMostMembersDown: open-ended faults last until the timeline ends, so
// two at the same offset overlap, and one overlaps every later fault; a
// split counts its minority alongside other member faults; heals come
// first at equal times.
func TestMostMembersDown(t *testing.T) {
	tests := []struct {
		name    string
		members int
		steps   []Step
		want    int
		at      time.Duration
	}{
		{"two open crashes at once", 3, []Step{
			{At: ms(500), Fault: MemberCrash, Target: "m0"},
			{At: ms(500), Fault: MemberCrash, Target: "m1"},
		}, 2, ms(500).Std()},
		{"an open crash, then a short pause", 3, []Step{
			{At: 0, Fault: MemberCrash, Target: "m0"},
			{At: ms(100), Fault: MemberPause, Target: "m1", For: ms(10)},
		}, 2, ms(100).Std()},
		{"an open crash after a long one", 3, []Step{
			{At: 0, Fault: MemberCrash, Target: "m0", For: ms(300)},
			{At: ms(200), Fault: MemberIsolate, Target: "m1"},
		}, 2, ms(200).Std()},
		{"a split and a crash", 3, []Step{
			{At: 0, Fault: Split, Target: "m0", For: ms(300)},
			{At: ms(100), Fault: MemberCrash, Target: "m2", For: ms(100)},
		}, 2, ms(100).Std()},
		{"an open split and a crash in five", 5, []Step{
			{At: 0, Fault: Split, Target: "m0"},
			{At: ms(100), Fault: MemberCrash, Target: "m4", For: ms(100)},
		}, 3, ms(100).Std()},
		{"one starts as the other heals", 3, []Step{
			{At: 0, Fault: MemberCrash, Target: "m0", For: ms(100)},
			{At: ms(100), Fault: MemberCrash, Target: "m1"},
		}, 1, 0},
		{"agent faults do not count", 3, []Step{
			{At: 0, Fault: MemberCrash, Target: "m0"},
			{At: 0, Fault: Crash, Target: "agent-1"},
		}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, at := MostMembersDown(tt.members, tt.steps)
			if got != tt.want || at != tt.at {
				t.Fatalf("MostMembersDown = %d at %v; want %d at %v", got, at, tt.want, tt.at)
			}
		})
	}
}
