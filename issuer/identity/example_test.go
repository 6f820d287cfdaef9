package identity_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/healthcards/healthcards/issuer/identity"
)

// An administrator adds a desk account; the one-time code is what the
// person types on the enrolment page before registering a passkey.
func ExampleService_AddAccount() {
	dir, _ := os.MkdirTemp("", "identity")
	defer os.RemoveAll(dir)
	ids, err := identity.Open(context.Background(), identity.Config{Path: filepath.Join(dir, "identity.db")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ids.Close()
	a, code, _ := ids.AddAccount(context.Background(), "Dana Desk", identity.RoleDesk)
	fmt.Println(a.Role, len(code), a.Role.Valid())
	// Output: desk 14 true
}

// Staff who checked a passport enrol a patient at IAL2; the code goes to
// the patient's phone (the sign-up page), never into a log.
func ExampleService_EnrolPatient() {
	dir, _ := os.MkdirTemp("", "identity")
	defer os.RemoveAll(dir)
	ids, err := identity.Open(context.Background(), identity.Config{Path: filepath.Join(dir, "identity.db")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ids.Close()
	a, code, err := ids.EnrolPatient(context.Background(), identity.Enrolment{
		Name: "Maria Garcia", Patient: "pt-2001", Evidence: "passport", IAL: "IAL2", By: "acct-desk-1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Role, a.Patient, a.IAL, a.Evidence, len(code))
	// Output: patient pt-2001 https://smarthealth.cards/ial/IAL2 passport 14
}
