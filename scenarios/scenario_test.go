package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const good = `{
  "version": 1, "name": "x", "expect": ["P1"],
  "members": 3, "agents": 2, "syncs": 4,
  "lease_ttl": "1s", "safety_margin": "300ms", "quiet": "1s", "seed": 1,
  "steps": [{"at": "1s", "fault": "isolate", "target": "owner of sync-2", "for": "2s"}]
}`

func TestDecodeRoundTrip(t *testing.T) {
	sc, err := Decode([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	again, err := Decode(sc.Encode())
	if err != nil {
		t.Fatalf("an encoded scenario does not decode: %v", err)
	}
	if string(again.Encode()) != string(sc.Encode()) {
		t.Fatalf("round trip changed the scenario:\n%s\n%s", sc.Encode(), again.Encode())
	}
}

// TestDecodeRejects: every malformed scenario is refused with a message that
// names what is wrong and what would be right.
func TestDecodeRejects(t *testing.T) {
	tests := []struct{ name, from, to, want string }{
		{"unknown field", `"seed": 1,`, `"seed": 1, "sedd": 2,`, `unknown field "sedd"`},
		{"unknown fault", `"fault": "isolate"`, `"fault": "explode"`, `"fault" "explode" is unknown; known faults are add-sync, change-sync, compact, crash`},
		{"bad duration", `"quiet": "1s"`, `"quiet": "soon"`, `"soon" is not a duration; write it like "1.5s"`},
		{"duration as a number", `"quiet": "1s"`, `"quiet": 1`, `a duration is a string such as "1.5s"`},
		{"agent that cannot exist", `"owner of sync-2"`, `"agent-7"`, `target "agent-7" does not exist; the scenario has agents 1 to 2`},
		{"sync that cannot exist", `"owner of sync-2"`, `"owner of sync-9"`, `target "owner of sync-9" does not exist; the scenario has syncs 1 to 4`},
		{"malformed target", `"owner of sync-2"`, `"the boss"`, `target "the boss" is not an agent: write "agent-N", "owner of sync-N", "leader" or "any agent"`},
		{"fractional TTL", `"lease_ttl": "1s"`, `"lease_ttl": "1500ms"`, `"lease_ttl" is 1.5s; etcd grants whole seconds`},
		{"margin too large", `"safety_margin": "300ms"`, `"safety_margin": "900ms"`, `"safety_margin" is 900ms; it must be above 0 and below two thirds`},
		{"newer version", `"version": 1`, `"version": 9`, `"version" 9 is newer than this syncsim reads (up to 1)`},
		{"unknown property", `["P1"]`, `["P9"]`, `"expect" names "P9"`},
		{"for on an instant fault", `"fault": "isolate"`, `"fault": "disconnect"`, `"for" has no meaning: disconnect is over at once`},
		{"delay without latency", `"fault": "isolate"`, `"fault": "delay"`, `"delay" needs "latency"`},
		{"member that cannot exist", `"fault": "isolate", "target": "owner of sync-2"`, `"fault": "member-crash", "target": "m3"`, `target "m3" does not exist; the cluster has members m0 to m2`},
		{"agent target for a member fault", `"fault": "isolate"`, `"fault": "member-pause"`, `target "owner of sync-2" is not an etcd member`},
		{"members with the wrong fault", `"for": "2s"`, `"for": "2s", "fault": "crash", "members": ["m0"]`, `"members" goes only with "isolate"`},
		{"bad definition", `"fault": "isolate", "target": "owner of sync-2", "for": "2s"`, `"fault": "add-sync", "target": "sync-9", "definition": "[1]"`, `"definition": a sync definition must be a JSON object`},
		{"quorum loss", `{"at": "1s", "fault": "isolate", "target": "owner of sync-2", "for": "2s"}`,
			`{"at": "1s", "fault": "member-crash", "target": "m0"}, {"at": "2s", "fault": "member-pause", "target": "etcd leader", "for": "1s"}`,
			`"steps": 2 of 3 members are down at 2s, a majority; set "allow_quorum_loss" if that is the point`},
		{"two open member crashes at once", `{"at": "1s", "fault": "isolate", "target": "owner of sync-2", "for": "2s"}`,
			`{"at": "1s", "fault": "member-crash", "target": "m0"}, {"at": "1s", "fault": "member-crash", "target": "m1"}`,
			`"steps": 2 of 3 members are down at 1s, a majority`},
		{"a split and a member crash", `{"at": "1s", "fault": "isolate", "target": "owner of sync-2", "for": "2s"}`,
			`{"at": "1s", "fault": "split", "target": "m0", "for": "2s"}, {"at": "2s", "fault": "member-crash", "target": "m2", "for": "1s"}`,
			`"steps": 2 of 3 members are down at 2s, a majority`},
		{"at beyond an hour", `"at": "1s"`, `"at": "100000h"`, `"steps"[0] (isolate): "at" is 100000h0m0s; at most "1h0m0s"`},
		{"for beyond an hour", `"for": "2s"`, `"for": "2562047h"`, `"steps"[0] (isolate): "for" is 2562047h0m0s; at most "1h0m0s"`},
		{"quiet beyond ten minutes", `"quiet": "1s"`, `"quiet": "1000h"`, `"quiet" is 1000h0m0s; at most "10m0s"`},
		{"TTL beyond a minute", `"lease_ttl": "1s"`, `"lease_ttl": "2m"`, `"lease_ttl" is 2m0s; etcd grants whole seconds, "1s" to "1m0s"`},
		{"latency beyond the TTL", `"fault": "isolate"`, `"fault": "delay", "latency": "1500ms"`, `"latency" 1.5s exceeds "lease_ttl" 1s`},
		{"more syncs than the harness runs", `"syncs": 4`, `"syncs": 10000`, `"syncs" is 10000; it must be 1 to 150`},
		{"more agents than the harness runs", `"agents": 2`, `"agents": 100`, `"agents" is 100; it must be 1 to 30`},
		{"long name", `"name": "x"`, `"name": "` + strings.Repeat("x", 300) + `"`, `"name" is 300 characters long; at most 100 (it names the report directory)`},
		{"syntax", `"members": 3,`, `"members": 3`, `line 3`},
		{"trailing data", "\n}", "\n}{}", `unexpected data after the scenario object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(good, tt.from) {
				t.Fatalf("fixture lacks %q", tt.from)
			}
			_, err := Decode([]byte(strings.Replace(good, tt.from, tt.to, 1)))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

// TestLongNameNotEchoed: an error about a name too long quotes at most
// a hundred characters of it (maxName).
func TestLongNameNotEchoed(t *testing.T) {
	long := strings.Repeat("x", 5000)
	_, err := Decode([]byte(strings.Replace(good, `"name": "x"`, `"name": "`+long+`"`, 1)))
	if err == nil || strings.Contains(err.Error(), long[:101]) {
		t.Fatalf("error echoes the whole name: %.300v", err)
	}
}

// TestDecodeNamesFields: a value of the wrong type, or a duration its own
// decoding rejects, is named as the file names it, with the JSON it must
// be, never with Go's names (Setup.members, scenarios.Scenario).
func TestDecodeNamesFields(t *testing.T) {
	tests := []struct{ name, from, to, want string }{
		{"string for a number", `"members": 3`, `"members": "three"`, `line 3: "members" is a string; it must be a whole number`},
		{"fraction for a whole number", `"members": 3`, `"members": 3.5`, `line 3: "members" is the number 3.5; it must be a whole number`},
		{"string for a list", `["P1"]`, `"P1"`, `line 2: "expect" is a string; it must be an array of strings`},
		{"number in a step's members", `"for": "2s"`, `"for": "2s", "members": [3]`, `line 5: "steps"[0].members[0] is a number; it must be a string`},
		{"negative for", `"for": "2s"`, `"for": "-1s"`, `"steps"[0].for: duration "-1s" is negative`},
		{"negative quiet", `"quiet": "1s"`, `"quiet": "-1s"`, `"quiet": duration "-1s" is negative`},
		{"bad duration", `"lease_ttl": "1s"`, `"lease_ttl": "soon"`, `"lease_ttl": "soon" is not a duration`},
		{"number for a duration", `"at": "1s"`, `"at": 1`, `"steps"[0].at: a duration is a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(good, tt.from) {
				t.Fatalf("fixture lacks %q", tt.from)
			}
			_, err := Decode([]byte(strings.Replace(good, tt.from, tt.to, 1)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v does not say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "Setup") || strings.Contains(err.Error(), "scenarios.") || strings.Contains(err.Error(), "sim.") {
				t.Fatalf("error %q names Go types", err)
			}
		})
	}
	_, err := Decode([]byte(`[]`))
	if err == nil || err.Error() != "line 1: the scenario is an array; it must be an object" {
		t.Fatalf("a file that is not an object: %v", err)
	}
}

// TestLoadRefusesSpecialFiles: a FIFO would block reading for ever, and
// /dev/zero would exhaust memory: only regular files of at most 16 MB load.
func TestLoadRefusesSpecialFiles(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(big, nil, 0o644); err != nil || os.Truncate(big, 17<<20) != nil {
		t.Fatal("cannot make a sparse file")
	}
	for path, want := range map[string]string{fifo: "is a named pipe (FIFO), not a regular file", big: "larger than the limit for this file, 16 MB", "/dev/zero": "is a character device"} {
		done := make(chan error, 1)
		go func() { _, err := Load(path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %v does not say %q", path, err, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("loading %s hung", path)
		}
	}
}
