package identity_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/healthcards/healthcards/issuer/identity"
)

// Config.OnCutOff runs for every way an account is cut off, and an error
// from it leaves the account as it was (fail closed: the caller retries).
func TestOnCutOff(t *testing.T) {
	ctx := context.Background()
	var called []string
	fail := false
	s, err := identity.Open(ctx, identity.Config{Path: filepath.Join(t.TempDir(), "identity.db"), RPID: "desk.example.org", Origin: origin,
		OnCutOff: func(_ context.Context, id string) error {
			called = append(called, id)
			if fail {
				return errors.New("oauth store down")
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := identity.Enrolment{Name: "Pat", Patient: "pt-1", Evidence: "passport", IAL: "IAL2", By: "staff-1"}
	a, _, err := s.EnrolPatient(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if len(called) != 0 {
		t.Fatalf("a first enrolment cut off %v", called)
	}
	e.ReplacePasskeys = true
	if _, _, err := s.EnrolPatient(ctx, e); err != nil || len(called) != 1 || called[0] != a.ID {
		t.Fatalf("re-enrolment with ReplacePasskeys: %v, cut off %v", err, called)
	}
	fail = true
	if err := s.Disable(ctx, a.ID); identity.CodeOf(err) != identity.CodeInternal {
		t.Fatalf("Disable with a failing hook: %v", err)
	}
	if got, _ := s.Account(ctx, a.ID); got.Disabled {
		t.Fatal("the account was disabled although its grants could not be withdrawn")
	}
	if _, _, err := s.EnrolPatient(ctx, e); err == nil {
		t.Fatal("re-enrolment went through although the grants could not be withdrawn")
	}
	if err := s.RevokePasskey(ctx, a.ID, "bm8"); identity.CodeOf(err) != identity.CodeNotFound {
		t.Fatalf("an unknown passkey: %v", err) // nothing revoked, nothing cut off
	}
	fail = false
	if err := s.Disable(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Account(ctx, a.ID); !got.Disabled || called[len(called)-1] != a.ID || len(called) < 4 {
		t.Fatalf("disabled %v, cut off %v", got.Disabled, called)
	}
}
