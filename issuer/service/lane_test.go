package service

import (
	"bytes"
	"slices"
	"testing"
)

func TestSystemClients(t *testing.T) {
	got, err := systemClients([]string{"lab-1=cards:issue,results:write", "lab-2=cards:revoke"})
	if err != nil || !slices.Equal(got["lab-1"], []string{"cards:issue", "results:write"}) || !slices.Equal(got["lab-2"], []string{"cards:revoke"}) {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"lab", "=cards:issue", "lab=", "lab=cards:everything", "lab=patient/*.read"} {
		if _, err := systemClients([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The audit key is stable for one rid secret and differs between secrets,
// and is not the secret itself.
func TestAuditKey(t *testing.T) {
	a, b := auditKey("secret-1"), auditKey("secret-2")
	if !bytes.Equal(a, auditKey("secret-1")) || bytes.Equal(a, b) || bytes.Contains(a, []byte("secret-1")) || len(a) != 32 {
		t.Fatalf("%x %x", a, b)
	}
}
