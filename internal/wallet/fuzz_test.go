package wallet

import (
	"strings"
	"testing"
)

// The server's answers are read without panics or unbounded work, and an
// OperationOutcome's text reaches an error bounded and printable.
func FuzzServerAnswers(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Parameters","parameter":[{"name":"verifiableCredential","valueString":"a.b.c"}]}`))
	f.Add([]byte(`{"resourceType":"Parameters"}`))
	f.Add([]byte(`{"resourceType":"OperationOutcome","issue":[{"code":"forbidden","details":{"coding":[{"code":"forbidden"}],"text":"no\nscope"}}]}`))
	f.Add([]byte(`{"resourceType":"Parameters","parameter":[{"name":"verifiableCredential"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		jws, err := credentials(b)
		if err == nil && len(jws) > maxCardsPerInput {
			t.Fatalf("%d cards accepted", len(jws))
		}
		o := outcome(b)
		if len(o) > 64+2+303 || strings.ContainsAny(o, "\r\n\x00") {
			t.Fatalf("outcome %q", o)
		}
	})
}
