package authz_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/authz"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/memstore"
)

// A practitioner on the patient's care team may issue the patient's cards;
// another practitioner may not. The relation comes from a CareTeam the
// issuer holds for the patient.
func ExampleEngine_Authorize() {
	ctx := context.Background()
	st := memstore.New()
	_ = st.PutResources(ctx, "p1", json.RawMessage(`{"resourceType":"Patient","id":"p1","birthDate":"1980-01-01"}`),
		[]store.Resource{{Type: "CareTeam", ID: "ct1", JSON: json.RawMessage(
			`{"resourceType":"CareTeam","status":"active","participant":[{"member":{"reference":"Practitioner/dr-a"}}]}`)}})
	e, err := authz.New(authz.Config{Source: issuer.StoreSource{Store: st}, Audit: st})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, who := range []string{"dr-a", "dr-b"} {
		p := &auth.Principal{Kind: "jwt", ID: who, FHIRUser: "Practitioner/" + who, Scopes: []string{"user/Observation.rs"}}
		d := e.Authorize(ctx, p, authz.ActionIssue, authz.Target{Patient: "p1"})
		fmt.Println(who, d.Allow, d.Policies)
	}
	// Output:
	// dr-a true [care-team]
	// dr-b false []
}

// The front desk asks the same engine for its staff: a desk account may
// issue but not read the audit trail; a supervisor may.
func ExampleEngine_AuthorizeStaff() {
	st := memstore.New()
	e, err := authz.New(authz.Config{Source: issuer.StoreSource{Store: st}, Audit: st})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, s := range []authz.Staff{{ID: "acct-1", Role: "desk"}, {ID: "acct-2", Role: "supervisor"}} {
		fmt.Println(s.Role,
			e.AuthorizeStaff(ctx, s, authz.ActionIssue, authz.Target{}).Allow,
			e.AuthorizeStaff(ctx, s, authz.ActionAudit, authz.Target{}).Policies)
	}
	// Output:
	// desk true []
	// supervisor true [staff-supervisor]
}
