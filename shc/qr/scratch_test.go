package qr

import (
	"bytes"
	"os"
	"testing"
	"time"
)

func TestScratch(t *testing.T) {
	d := "/work/shared/conformance/spec-examples/"
	b, _ := os.ReadFile(d + "third-party/seanno-shc-demo-data/cards/example-covid/shc.png")
	want, _ := os.ReadFile(d + "third-party/seanno-shc-demo-data/cards/example-covid/shc.txt")
	t0 := time.Now()
	s, err := DecodeBytes(b)
	t.Log(err, s == string(bytes.TrimSpace(want)), len(s), len(want), time.Since(t0))
	f, _ := os.ReadFile(d + "vci-spec-site/examples/example-00-f-qr-code-numeric-value-0.txt")
	c, err := Encode(string(f))
	var buf bytes.Buffer
	c.PNG(&buf, 4)
	t0 = time.Now()
	r, err := scan(mustImg(t, buf.Bytes()))
	t.Log(err, r.text == string(f), r.version, r.attempt, describeSegments(r.segments), time.Since(t0), buf.Len())
}
