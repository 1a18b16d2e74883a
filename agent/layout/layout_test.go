package layout

import (
	"strings"
	"testing"
)

func TestKeysRoundTrip(t *testing.T) {
	for _, dir := range Dirs {
		key := Key(dir, "sync-1")
		if d, n := Split(key); d != dir || n != "sync-1" {
			t.Errorf("Split(%q) = %q, %q; want %q, sync-1", key, d, n, dir)
		}
		p := Prefixed("/fleet/")
		full := p.Key(dir, "sync-1")
		if full != "/fleet/"+dir+"/sync-1" || p.Dir(dir) != "/fleet/"+dir+"/" {
			t.Errorf("prefixed key %q, directory %q", full, p.Dir(dir))
		}
	}
	if d, n := Split("stray"); d != "" || n != "stray" {
		t.Errorf("a key outside every directory splits into %q, %q", d, n)
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"a", "sync-1", "agent-100", "host.example.com", "A_b-9", strings.Repeat("x", MaxNameLen)} {
		if err := ValidName("sync name", ok); err != nil {
			t.Errorf("ValidName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "a/b", "nl\nsync", "tab\tsync", "esc\x1b[2J", "sp ace", "-dash", ".hidden", "naïve", strings.Repeat("x", MaxNameLen+1), strings.Repeat("x", 10000)} {
		err := ValidName("sync name", bad)
		if err == nil {
			t.Errorf("ValidName(%q) = nil, want an error", bad)
			continue
		}
		if msg := err.Error(); len(msg) > 200 || strings.ContainsAny(msg, "\n\t\x1b") || !strings.HasPrefix(msg, "sync name ") {
			t.Errorf("ValidName(%.50q): error %q is not one short, printable line naming the kind", bad, msg)
		}
	}
}
