package issuer

import (
	"encoding/json"
	"testing"

	"github.com/healthcards/healthcards/internal/testvectors"
	"github.com/healthcards/healthcards/shc"
)

const kidK0 = "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s"

// TestRIDSpecVector_REV3 reproduces the example rids with the published
// generator secret and key K0 (REV-3, MANIFEST "rid = ...").
func TestRIDSpecVector_REV3(t *testing.T) {
	var sec struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(testvectors.Read(t, "vci-generator/src/config/issuer.hmac.private.json"), &sec); err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string]string{"userid-00": "MKyCxh7p6uQ", "userid-03": "vwAjHdarZuc", "userid-02": "YjKhdFoxL_g"} {
		if got := RID(sec.Secret, kidK0, user); got != want {
			t.Errorf("RID(%s) = %q, want %q", user, got, want)
		}
		if !shc.ValidRID(RID(sec.Secret, kidK0, user)) {
			t.Errorf("rid for %s is not a valid REV-1 rid", user)
		}
	}
}

func TestNewRIDSecret(t *testing.T) {
	a, err := NewRIDSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewRIDSecret()
	if len(a) != 43 || a == b {
		t.Fatalf("secrets %q %q: want 43 random base64url characters each", a, b)
	}
}
