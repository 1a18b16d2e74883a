package scenarios

import (
	"bytes"
	"testing"
)

// FuzzDecode: the decoder never panics, and whatever it accepts encodes
// to a file it accepts again unchanged.
func FuzzDecode(f *testing.F) {
	for _, sc := range Catalogue() {
		f.Add(sc.Encode())
	}
	f.Add([]byte(good))
	f.Add([]byte(`{"version":1,"steps":[{"at":"-1s"}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Decode(data)
		if err != nil {
			return
		}
		again, err := Decode(sc.Encode())
		if err != nil {
			t.Fatalf("accepted %q but not its encoding: %v", data, err)
		}
		if !bytes.Equal(again.Encode(), sc.Encode()) {
			t.Fatalf("encoding is not stable:\n%s\n%s", sc.Encode(), again.Encode())
		}
	})
}
