package oauth

import (
	"net/http"

	"github.com/healthcards/healthcards/issuer/identity"
)

// IdentityPeople finds patients through issuer/identity: the patient
// pages' session cookie (identity.PatientCookie), the account's own
// Patient and its wards.
type IdentityPeople struct{ Identity *identity.Service }

// Viewer returns the signed-in patient account of r, or nil when there is
// none (no cookie, an expired session, a disabled account, or a staff
// account: staff are not patients on this site).
func (p IdentityPeople) Viewer(r *http.Request) (*Viewer, error) {
	ses, err := p.Identity.PatientSession(r)
	if err != nil {
		switch identity.CodeOf(err) {
		case identity.CodeUnauthenticated, identity.CodeSessionExpired, identity.CodeForbidden, identity.CodeAccountDisabled:
			return nil, nil
		}
		return nil, err
	}
	v := &Viewer{AccountID: ses.Account.ID, Name: ses.Account.Name, CSRF: ses.CSRF}
	if ses.Account.Patient != "" {
		v.Persons = append(v.Persons, Person{Patient: ses.Account.Patient, FHIRUser: "Patient/" + ses.Account.Patient, Name: ses.Account.Name, Self: true})
	}
	wards, err := p.Identity.Wards(r.Context(), ses.Account.ID)
	if err != nil {
		return nil, err
	}
	for _, w := range wards {
		v.Persons = append(v.Persons, Person{Patient: w.Patient, FHIRUser: "RelatedPerson/" + w.RelatedPerson, Name: w.Name})
	}
	return v, nil
}
