package bulk

import (
	"strings"
	"testing"
)

func TestParseOutputs(t *testing.T) {
	o, err := ParseOutputs("card,png, pdf ,link")
	if err != nil || !o.Card || !o.PNG || o.SVG || !o.PDF || !o.Link {
		t.Fatalf("ParseOutputs = %+v, %v", o, err)
	}
	for _, bad := range []string{"", "card,", "card,jpeg", "PNG"} {
		if _, err := ParseOutputs(bad); err == nil || !strings.Contains(err.Error(), "unknown output") {
			t.Errorf("ParseOutputs(%q) = %v; want an unknown-output error", bad, err)
		}
	}
}
