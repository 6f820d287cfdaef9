package account

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/identity"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/shc/qr"
)

// RoleCodeSystem is the v3 RoleCode system of RelatedPerson.relationship.
const RoleCodeSystem = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

// Relationship is a guardian's relation to a ward (v3 RoleCode), as the
// default authorization policies read it (docs/authorization.md): a parent
// code acts for a minor; GUARD and the powers of attorney also for an
// adult, within the RelatedPerson's period.
type Relationship struct{ Code, Label string }

// Relationships offered by the desk and accepted by the API.
var Relationships = []Relationship{
	{"MTH", "Mother"}, {"FTH", "Father"}, {"PRN", "Parent"}, {"GUARD", "Legal guardian"},
	{"HPOWATT", "Healthcare power of attorney"}, {"POWATT", "Power of attorney"},
}

func validRelationship(code string) bool {
	for _, r := range Relationships {
		if r.Code == code {
			return true
		}
	}
	return false
}

// Enroller creates patient enrolments for the desk and the API: the
// account and its sign-up code (issuer/identity), the RelatedPerson
// resources of a guardian's wards in the issuer's FHIR data (which the
// guardian policies read), and the audit trail. Identity, BaseURL and
// Issuer (or, where no issuer runs, as in `shc-issuer patients`, Store)
// are required.
type Enroller struct {
	Issuer *issuer.Issuer
	// Store is the issuer's store when Issuer is nil (the command line
	// opens no signing keys); Now is then its clock (nil: time.Now).
	Store    issuer.Store
	Now      func() time.Time
	Identity *identity.Service
	// BaseURL is the service's public https base (no trailing slash); the
	// sign-up address is BaseURL + SignupPath.
	BaseURL string
}

// Request is one desk enrolment.
type Request struct {
	Name     string // display name; "" means the name in the Patient resource
	Patient  string // FHIR Patient id of the person's own record ("" for a guardian only)
	Evidence string // identity.EvidenceKinds
	IAL      string // identity.EnrolmentIALs (or the code alone)
	// By is the audit actor who checked the document ("staff:ID", or an
	// API token's actor).
	By string
	// Wards are the people a guardian acts for.
	Wards []WardRequest
	// ReplacePasskeys revokes an existing account's passkeys (a lost phone).
	ReplacePasskeys bool
}

// WardRequest names a ward and the guardian's relationship to them.
type WardRequest struct {
	Patient      string `json:"patientId"`
	Relationship string `json:"relationship"` // a code of Relationships
}

// Enrolled is the result of an enrolment: show Code and the QR of
// SignupURL to the person once; neither is stored.
type Enrolled struct {
	Account   identity.Account
	Code      string
	Expires   time.Time
	SignupURL string
}

func (en *Enroller) store() issuer.Store {
	if en.Issuer != nil {
		return en.Issuer.Store()
	}
	return en.Store
}

func (en *Enroller) now() time.Time {
	switch {
	case en.Issuer != nil:
		return en.Issuer.Now()
	case en.Now != nil:
		return en.Now()
	}
	return time.Now()
}

// SignupPath is the patient's sign-up page.
const SignupPath = "/account/signup"

// SignupURL is the sign-up address with code in the fragment: the page's
// script reads it, so the code never reaches a server log or a Referer.
func (en *Enroller) SignupURL(code string) string {
	return en.BaseURL + SignupPath + "#code=" + code
}

// SignupQR is the SVG of a QR code (byte mode, level M) holding url.
func SignupQR(url string) ([]byte, error) {
	c, err := qr.EncodeBytes(url, qr.M)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := c.SVG(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func invalid(msg string) error {
	return &identity.Error{Pkg: "issuer", Code: identity.CodeInvalidEnrolment, Msg: msg}
}

// patientName reads "Given Family" from a stored Patient (not_found if
// there is none).
func (en *Enroller) patientName(ctx context.Context, id string) (string, error) {
	if !issuer.ValidID(id) {
		return "", invalid("a patient id is a FHIR id (1..64 of A-Z a-z 0-9 - .)")
	}
	raw, err := en.store().Patient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", &issuer.Error{Pkg: "issuer", Code: issuer.CodeNotFound, Msg: "no patient " + id + " in this lab's data"}
	}
	if err != nil {
		return "", err
	}
	var p struct {
		Name []struct {
			Text   string   `json:"text"`
			Family string   `json:"family"`
			Given  []string `json:"given"`
		} `json:"name"`
	}
	_ = json.Unmarshal(raw, &p)
	if len(p.Name) == 0 {
		return "", nil
	}
	if p.Name[0].Text != "" {
		return p.Name[0].Text, nil
	}
	return strings.TrimSpace(strings.Join(p.Name[0].Given, " ") + " " + p.Name[0].Family), nil
}

// Enrol checks the request (the patient and each ward must be in the
// lab's data), writes a RelatedPerson for each ward, creates or reuses the
// account (identity.EnrolPatient) and records "enrol" in the audit trail
// with ids only.
func (en *Enroller) Enrol(ctx context.Context, r Request) (*Enrolled, error) {
	r.Patient = strings.TrimSpace(r.Patient)
	if r.Patient == "" && len(r.Wards) == 0 {
		return nil, invalid("an enrolment names the patient, or the wards of a guardian")
	}
	if !identity.ValidEvidence(r.Evidence) {
		return nil, invalid("evidence must be one of " + strings.Join(identity.EvidenceKinds, ", "))
	}
	if identity.NormalizeIAL(r.IAL) == "" {
		return nil, invalid("the identity assurance level must be IAL1.4, IAL2 or IAL3 (" + identity.IALSystem + ")")
	}
	if len(r.Wards) > 20 {
		return nil, invalid("at most 20 wards per enrolment")
	}
	if r.Patient != "" {
		name, err := en.patientName(ctx, r.Patient)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(r.Name) == "" {
			r.Name = name
		}
	}
	seen := map[string]bool{}
	for _, w := range r.Wards {
		if !validRelationship(w.Relationship) {
			return nil, invalid("relationship must be a v3 RoleCode the policies know: MTH, FTH, PRN, GUARD, HPOWATT, POWATT")
		}
		if w.Patient == r.Patient || seen[w.Patient] {
			return nil, invalid("each ward once, and not the person themselves")
		}
		seen[w.Patient] = true
		if _, err := en.patientName(ctx, w.Patient); err != nil {
			return nil, err
		}
	}
	if strings.TrimSpace(r.Name) == "" {
		return nil, invalid("give the person's name")
	}
	var wards []identity.Ward
	for _, w := range r.Wards {
		ward, err := en.relatedPerson(ctx, w, r.Name)
		if err != nil {
			return nil, err
		}
		wards = append(wards, ward)
	}
	a, code, err := en.Identity.EnrolPatient(ctx, identity.Enrolment{Name: r.Name, Patient: r.Patient, Evidence: r.Evidence, IAL: r.IAL, By: r.By,
		Wards: wards, ReplacePasskeys: r.ReplacePasskeys})
	if err != nil {
		return nil, err
	}
	exp, _, err := en.Identity.OpenCode(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	en.audit(ctx, r.By, "enrol", "account "+a.ID+" "+strings.TrimPrefix(a.IAL, identity.IALSystem+"/")+" "+a.Evidence+wardIDs(wards))
	return &Enrolled{Account: a, Code: code, Expires: exp, SignupURL: en.SignupURL(code)}, nil
}

func wardIDs(ws []identity.Ward) string {
	var b strings.Builder
	for _, w := range ws {
		b.WriteString(" ward RelatedPerson/" + w.RelatedPerson)
	}
	return b.String()
}

// relatedPerson writes an active RelatedPerson of ward w (the guardian,
// named guardian) with its relationship and period.start today, and
// returns the Ward to link. The ward's name is read from their Patient.
func (en *Enroller) relatedPerson(ctx context.Context, w WardRequest, guardian string) (identity.Ward, error) {
	wardName, err := en.patientName(ctx, w.Patient)
	if err != nil {
		return identity.Ward{}, err
	}
	if wardName == "" {
		wardName = w.Patient
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	id := "rp-" + hex.EncodeToString(b)
	now := en.now().UTC()
	rp := map[string]any{
		"resourceType": "RelatedPerson", "id": id, "active": true,
		"patient":      map[string]any{"reference": "Patient/" + w.Patient},
		"relationship": []any{map[string]any{"coding": []any{map[string]any{"system": RoleCodeSystem, "code": w.Relationship}}}},
		"name":         []any{map[string]any{"text": guardian}},
		"period":       map[string]any{"start": now.Format("2006-01-02")},
	}
	raw, _ := json.Marshal(rp)
	if err := en.store().PutResources(ctx, w.Patient, nil, []store.Resource{{PatientID: w.Patient, Type: "RelatedPerson", ID: id, JSON: raw}}); err != nil {
		return identity.Ward{}, err
	}
	return identity.Ward{Patient: w.Patient, RelatedPerson: id, Name: wardName}, nil
}

// LinkGuardian links an existing patient account to a ward: a new
// RelatedPerson and the Ward row (identity.LinkWard).
func (en *Enroller) LinkGuardian(ctx context.Context, accountID string, w WardRequest, by string) (identity.Ward, error) {
	a, err := en.Identity.Account(ctx, accountID)
	if err != nil {
		return identity.Ward{}, err
	}
	if a.Role != identity.RolePatient || a.Disabled {
		return identity.Ward{}, invalid("only an active patient account can be a guardian")
	}
	if a.Patient == w.Patient {
		return identity.Ward{}, invalid("a person is not their own ward")
	}
	if !validRelationship(w.Relationship) {
		return identity.Ward{}, invalid("relationship must be a v3 RoleCode the policies know: MTH, FTH, PRN, GUARD, HPOWATT, POWATT")
	}
	ward, err := en.relatedPerson(ctx, w, a.Name)
	if err != nil {
		return identity.Ward{}, err
	}
	if err := en.Identity.LinkWard(ctx, accountID, ward); err != nil {
		return identity.Ward{}, err
	}
	en.audit(ctx, by, "enrol.link", "account "+accountID+" ward RelatedPerson/"+ward.RelatedPerson)
	return ward, nil
}

// UnlinkGuardian ends a guardian's link to a ward: the RelatedPerson
// becomes inactive with period.end today (so the policies stop at once,
// whatever token the guardian holds) and the Ward row goes.
func (en *Enroller) UnlinkGuardian(ctx context.Context, accountID, patient, by string) error {
	ws, err := en.Identity.Wards(ctx, accountID)
	if err != nil {
		return err
	}
	var ward *identity.Ward
	for i := range ws {
		if ws[i].Patient == patient {
			ward = &ws[i]
		}
	}
	if ward == nil {
		return &identity.Error{Pkg: "issuer", Code: identity.CodeNotFound, Msg: "no such ward"}
	}
	res, err := en.store().Resources(ctx, patient, []string{"RelatedPerson"}, time.Time{})
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.ID != ward.RelatedPerson {
			continue
		}
		var rp map[string]any
		if json.Unmarshal(r.JSON, &rp) != nil {
			break
		}
		rp["active"] = false
		p, _ := rp["period"].(map[string]any)
		if p == nil {
			p = map[string]any{}
		}
		p["end"] = en.now().UTC().Format(time.RFC3339)
		rp["period"] = p
		raw, _ := json.Marshal(rp)
		if err := en.store().PutResources(ctx, patient, nil, []store.Resource{{PatientID: patient, Type: "RelatedPerson", ID: r.ID, JSON: raw}}); err != nil {
			return err
		}
	}
	if err := en.Identity.UnlinkWard(ctx, accountID, patient); err != nil {
		return err
	}
	en.audit(ctx, by, "enrol.unlink", "account "+accountID+" ward RelatedPerson/"+ward.RelatedPerson)
	return nil
}

// PatientAccount returns a patient account (not staff: those are managed
// with shc-issuer staff) that is patient's own or one of its guardians;
// not_found otherwise, so a request authorized for one patient reaches no
// other account.
func (en *Enroller) PatientAccount(ctx context.Context, accountID, patient string) (identity.Account, error) {
	notFound := &identity.Error{Pkg: "issuer", Code: identity.CodeNotFound, Msg: "no such patient account"}
	a, err := en.Identity.Account(ctx, accountID)
	if identity.CodeOf(err) == identity.CodeNotFound || (err == nil && a.Role != identity.RolePatient) {
		return identity.Account{}, notFound
	}
	if err != nil {
		return identity.Account{}, err
	}
	if a.Patient == patient && patient != "" {
		return a, nil
	}
	ws, err := en.Identity.Wards(ctx, accountID)
	if err != nil {
		return identity.Account{}, err
	}
	for _, w := range ws {
		if w.Patient == patient {
			return a, nil
		}
	}
	return identity.Account{}, notFound
}

// RevokeCode withdraws the account's open sign-up code.
func (en *Enroller) RevokeCode(ctx context.Context, accountID, by string) error {
	if a, err := en.Identity.Account(ctx, accountID); err != nil {
		return err
	} else if a.Role != identity.RolePatient {
		return &identity.Error{Pkg: "issuer", Code: identity.CodeNotFound, Msg: "no such patient account"}
	}
	if err := en.Identity.RevokeCodes(ctx, accountID); err != nil {
		return err
	}
	en.audit(ctx, by, "enrol.revoke-code", "account "+accountID)
	return nil
}

// RevokePasskey revokes one passkey of a patient account (and ends its
// sessions).
func (en *Enroller) RevokePasskey(ctx context.Context, accountID, passkeyID, by string) error {
	if a, err := en.Identity.Account(ctx, accountID); err != nil {
		return err
	} else if a.Role != identity.RolePatient {
		return &identity.Error{Pkg: "issuer", Code: identity.CodeNotFound, Msg: "no such patient account"}
	}
	if err := en.Identity.RevokePasskey(ctx, accountID, passkeyID); err != nil {
		return err
	}
	en.audit(ctx, by, "enrol.revoke-passkey", "account "+accountID)
	return nil
}

// Disable stops a patient account: no sign-in, codes revoked, sessions
// ended.
func (en *Enroller) Disable(ctx context.Context, accountID, by string) error {
	if a, err := en.Identity.Account(ctx, accountID); err != nil {
		return err
	} else if a.Role != identity.RolePatient {
		return &identity.Error{Pkg: "issuer", Code: identity.CodeNotFound, Msg: "no such patient account"}
	}
	if err := en.Identity.Disable(ctx, accountID); err != nil {
		return err
	}
	en.audit(ctx, by, "enrol.disable", "account "+accountID)
	return nil
}

func (en *Enroller) audit(ctx context.Context, actor, action, detail string) {
	_ = en.store().Audit(ctx, store.Event{Time: en.now(), Actor: actor, Action: action, Detail: detail})
}
