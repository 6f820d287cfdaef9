package shc

import (
	"bytes"
	"compress/flate"
	"fmt"
	"testing"
	"time"
)

func stdlibDeflate6(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, 6)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// HDR-7, SIZE-*: card size is QR size. On every official payload (and the
// benchmark's lab card) Deflate's output is no larger than compress/flate
// level 6, the size the spec generator produces, and inflates back exactly.
func TestDeflateNoLargerThanStdlib(t *testing.T) {
	var inputs [][]byte
	for _, set := range exampleSets {
		for i := 0; i <= 3; i++ {
			v := vector{set: set, name: fmt.Sprintf("example-%02d", i)}
			inputs = append(inputs, bytes.TrimSpace(v.read(t, "c-jws-payload-minified.json")))
		}
	}
	min, err := Minify([]byte(labBundle))
	if err != nil {
		t.Fatal(err)
	}
	lab, _ := NewPayload("https://lab.example.org", time.Unix(1795168800, 0), min).Marshal()
	inputs = append(inputs, lab)
	for i, in := range inputs {
		got, std := Deflate(in), stdlibDeflate6(t, in)
		if len(got) > len(std) {
			t.Errorf("input %d (%d bytes): Deflate gives %d bytes, compress/flate level 6 %d", i, len(in), len(got), len(std))
		}
		back, err := Inflate(got, 0)
		if err != nil || !bytes.Equal(back, in) {
			t.Errorf("input %d does not inflate back: %v", i, err)
		}
		t.Logf("input %d: %d bytes -> %d (stdlib level 6: %d)", i, len(in), len(got), len(std))
	}
}
