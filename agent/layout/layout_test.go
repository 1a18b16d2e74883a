package layout

import "testing"

func TestKeysRoundTrip(t *testing.T) {
	for _, dir := range Dirs {
		key := Key(dir, "sync-1")
		if d, n := Split(key); d != dir || n != "sync-1" {
			t.Errorf("Split(%q) = %q, %q; want %q, sync-1", key, d, n, dir)
		}
		p := Prefixed("/fleet/")
		full := p.Key(dir, "sync-1")
		if full != "/fleet/"+dir+"/sync-1" || p.Name(dir, full) != "sync-1" {
			t.Errorf("prefixed key %q names %q", full, p.Name(dir, full))
		}
	}
	if d, n := Split("stray"); d != "" || n != "stray" {
		t.Errorf("a key outside every directory splits into %q, %q", d, n)
	}
}
