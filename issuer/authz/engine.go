package authz

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/healthcards/healthcards/errcode"
	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/store"
)

// Action is what a principal asks to do with a patient's data.
type Action string

// The actions of the schema.
const (
	ActionIssue    Action = "issue"    // $health-cards-issue
	ActionShare    Action = "share"    // SMART Health Link creation
	ActionDownload Action = "download" // card downloads
	ActionPrint    Action = "print"    // print pages
	ActionRevoke   Action = "revoke"   // card, patient or link revocation
	// ActionView: the desk's patient and result pages, and a link's status
	// and access log (GET /v1/links/{id}).
	ActionView         Action = "view"
	ActionCorrect      Action = "correct"      // correct a result (desk)
	ActionAudit        Action = "audit"        // read the audit trail (desk)
	ActionManageStaff  Action = "manageStaff"  // staff accounts (desk)
	ActionManageTokens Action = "manageTokens" // API tokens (desk)
	// ActionEnrol: patient accounts (issue 13): enrol a patient or a
	// guardian, revoke an enrolment code or a passkey, disable the
	// account, link or unlink a guardian (desk, /v1/enrolments).
	ActionEnrol Action = "enrol"
)

// Actions lists every action of the schema.
var Actions = []Action{ActionIssue, ActionShare, ActionDownload, ActionPrint, ActionRevoke,
	ActionView, ActionCorrect, ActionAudit, ActionManageStaff, ActionManageTokens, ActionEnrol}

// CodeInvalidAuthorizationDetails: a "healthcards:cards" entry of the
// token's authorization_details is malformed (RFC 9396).
const CodeInvalidAuthorizationDetails errcode.Code = "invalid_authorization_details"

// ErrInvalidAuthorizationDetails matches CodeInvalidAuthorizationDetails
// errors with errors.Is.
var ErrInvalidAuthorizationDetails = errcode.Sentinel("authz", CodeInvalidAuthorizationDetails)

func badDetails(format string, args ...any) error {
	return &errcode.Error{Pkg: "authz", Code: CodeInvalidAuthorizationDetails, Msg: fmt.Sprintf(format, args...)}
}

// DefaultAgeOfMajority is the age at which a parent's access ends.
const DefaultAgeOfMajority = 18

// Config configures an Engine.
type Config struct {
	// PolicyDir holds the *.cedar policies; "" means the embedded default
	// set (docs/authorization.md). Invalid policies make New fail.
	PolicyDir string
	// Policies, if set, is used instead of PolicyDir (already validated,
	// e.g. from ValidatePolicies).
	Policies *cedar.PolicySet
	// Source supplies the patient's FHIR data (Patient, RelatedPerson,
	// CareTeam, Consent). Required.
	Source issuer.Source
	// Audit receives one event per decision; nil records nothing.
	Audit store.AuditStore
	// AgeOfMajority ends a parent's access to a minor's cards; 0 means 18.
	AgeOfMajority int
	// SensitiveCodes adds a sensitive value set: "system|code" of a
	// resource's code to the sensitivity category it falls under (e.g.
	// "http://loinc.org|75622-1" → "HIV").
	SensitiveCodes map[string]string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AuditKey keys the hashes that stand for patient ids in audit events;
	// nil means a random key per Engine.
	AuditKey []byte
}

// Engine is the one decision point for access to patient data. It is safe
// for concurrent use.
type Engine struct {
	ps        *cedar.PolicySet
	src       issuer.Source
	audit     store.AuditStore
	majority  int
	sensitive map[string]string
	now       func() time.Time
	key       []byte
}

// New loads and validates the policies and returns an Engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Source == nil {
		return nil, errors.New("authz: Config.Source is required")
	}
	ps := cfg.Policies
	var err error
	switch {
	case ps != nil:
	case cfg.PolicyDir != "":
		ps, err = LoadPolicyDir(cfg.PolicyDir)
	default:
		ps, err = DefaultPolicySet()
	}
	if err != nil {
		return nil, err
	}
	e := &Engine{ps: ps, src: cfg.Source, audit: cfg.Audit, majority: cfg.AgeOfMajority, sensitive: cfg.SensitiveCodes, now: cfg.Now, key: cfg.AuditKey}
	if e.majority == 0 {
		e.majority = DefaultAgeOfMajority
	}
	if e.majority < 0 || e.majority > 150 {
		return nil, fmt.Errorf("authz: age of majority %d is out of range", e.majority)
	}
	for k := range cfg.SensitiveCodes {
		if _, err := ParseToken(k); err != nil || !strings.Contains(k, "|") {
			return nil, fmt.Errorf("authz: sensitive code %q is not system|code", trunc(k))
		}
	}
	if e.now == nil {
		e.now = time.Now
	}
	if len(e.key) == 0 {
		e.key = make([]byte, 32)
		if _, err := rand.Read(e.key); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Target names what an action applies to.
type Target struct {
	Patient         string   // the patient whose data it is (required)
	Card            string   // card id (download, print, card revocation)
	Link            string   // link id (link revocation and view)
	LinkCreator     string   // the audit actor that created Link
	CredentialTypes []string // requested credentialTypes (issue)
}

// Decision is the answer of Authorize. For issue and share, an allowed
// decision also filters cards (Filter) and must be finished with
// Engine.Record once the cards are known; every other decision is
// recorded by Authorize.
type Decision struct {
	Allow bool
	// Policies are the ids of the policies that decided: the permits that
	// allowed, or the forbids that denied (empty when nothing permitted).
	Policies []string
	// Reason explains a denial in words safe to show the caller.
	Reason string
	// Err is the error to answer with when !Allow: coded forbidden,
	// invalid_authorization_details or an internal/upstream error.
	Err error
	// Principal is the Cedar principal, e.g. `Practitioner::"p1"`.
	Principal string

	action  Action
	who     *auth.Principal // nil: a capability holder or staff
	staff   *Staff
	patient string
	f       *cardFilter
}

// Filter returns the card filter of an allowed issue or share decision
// (nil for other decisions): scopes ∩ authorization_details ∩ consent.
func (d *Decision) Filter() func(issuer.CardContent) bool {
	if d.f == nil {
		return nil
	}
	return d.f.keep
}

// Withheld returns how many clinical resources the filter withheld as
// sensitive (never shown to the caller, recorded in the audit trail).
func (d *Decision) Withheld() int {
	if d.f == nil {
		return 0
	}
	return d.f.withheld
}

// Explain says, when the filter kept no card but left some out for the
// token's scopes or authorization_details, which type or scope was
// missing. Cards withheld as sensitive are never mentioned.
func (d *Decision) Explain() (string, bool) {
	if d.f == nil || d.f.kept > 0 {
		return "", false
	}
	return d.f.explain()
}

// Authorize decides whether principal p (nil: whoever holds a capability
// URL) may do action on target. It evaluates the Cedar policies with
// principal, patient and relations built from the token and the patient's
// FHIR data; forbid wins over permit, and a policy that fails to evaluate
// denies (fail closed). For issue and share it also checks the token's
// authorization_details and prepares the card filter.
func (e *Engine) Authorize(ctx context.Context, p *auth.Principal, action Action, t Target) *Decision {
	d := &Decision{action: action, patient: t.Patient, who: p}
	e.authorize(ctx, p, action, t, d)
	if !d.Allow || d.f == nil {
		e.Record(ctx, d)
	}
	return d
}

func (e *Engine) deny(d *Decision, code errcode.Code, reason string) {
	d.Allow = false
	d.Reason = reason
	d.Err = &errcode.Error{Pkg: "issuer", Code: code, Msg: reason}
	d.f = nil
}

func (e *Engine) authorize(ctx context.Context, p *auth.Principal, action Action, t Target, d *Decision) {
	now := e.now().UTC()
	pr := principalOf(p)
	d.Principal = pr.uid.String()
	switch {
	case action == ActionIssue || action == ActionShare:
		if t.Card != "" || t.Link != "" {
			e.deny(d, issuer.CodeBadRequest, "issue and share apply to a patient")
			return
		}
		if !issuer.ValidID(t.Patient) {
			e.deny(d, issuer.CodeNotFound, "no such patient")
			return
		}
	case t.Patient == "" && t.Card == "" && t.Link == "":
		e.deny(d, issuer.CodeBadRequest, "nothing to authorize")
		return
	}
	if !slices.Contains(Actions, action) {
		e.deny(d, issuer.CodeForbidden, "no policy allows "+pr.kind.String()+" to "+string(action))
		return
	}
	var details []Detail
	if p != nil && (action == ActionIssue || action == ActionShare) {
		ds, err := ParseAuthorizationDetails(p.AuthorizationDetails)
		if err != nil {
			d.Allow, d.Err, d.Reason = false, err, err.Error()
			return
		}
		if ds != nil {
			details = ds[:0:0]
			for i := range ds {
				if ds[i].allowsAction(action, t.Patient) && ds[i].allowsCredentialTypes(t.CredentialTypes) {
					details = append(details, ds[i])
				}
			}
			if len(details) == 0 {
				e.deny(d, issuer.CodeForbidden, "the token's authorization_details do not cover this patient, action or credential type")
				return
			}
		}
	}

	// Relations come from the patient's FHIR data, read only when a policy
	// can need them: card, link and revocation requests need only ids.
	rel := relations{patientID: t.Patient}
	needData := action == ActionIssue || action == ActionShare
	if needData && pr.kind != kindLab {
		if err := e.loadRelations(ctx, &rel, pr, now); err != nil {
			d.Allow, d.Err, d.Reason = false, err, "the patient's data could not be read"
			return
		}
	}
	ents, req := e.request(pr, action, t, &rel, now)
	if !e.decide(d, pr, action, ents, req) {
		return
	}
	if needData {
		d.f = e.newFilter(p, pr, action, &rel, details)
		if d.f.scoped && len(d.f.scopes) == 0 {
			e.deny(d, issuer.CodeForbidden, "the access token has no read scope for this patient's data (for example patient/Observation.rs)")
		}
	}
}

// Staff is a signed-in account of the lab desk (issuer/identity). Its
// sessions refuse disabled accounts, so a disabled account never reaches
// the engine.
type Staff struct {
	ID   string // account id
	Role string // desk, supervisor or admin; any other role gets nothing
}

// AuthorizeStaff decides whether staff account s may do action (the
// desk's actions: issue, print, share, view, revoke, correct, audit,
// manageStaff, manageTokens) on target; a Target with no patient, card or
// link stands for the lab itself (Lab). It goes through the same policies
// and audit trail as Authorize (actor "staff:ID") and needs no FHIR data:
// the desk works on results it enters itself, so there is no card filter.
func (e *Engine) AuthorizeStaff(ctx context.Context, s Staff, action Action, t Target) *Decision {
	d := e.staff(s, action, t)
	_ = e.Record(ctx, d)
	return d
}

// StaffMay evaluates like AuthorizeStaff on the lab (no patient) but
// records nothing: it is for showing or hiding a page's buttons only; the
// action itself is authorized (and recorded) with AuthorizeStaff.
func (e *Engine) StaffMay(s Staff, action Action) bool {
	return e.staff(s, action, Target{}).Allow
}

func (e *Engine) staff(s Staff, action Action, t Target) *Decision {
	d := &Decision{action: action, patient: t.Patient, staff: &s}
	pr := principal{kind: kindStaff, id: s.ID, role: s.Role, actor: "staff:" + s.ID,
		uid: cedar.NewEntityUID(typeStaff, cedar.String(s.ID))}
	d.Principal = pr.uid.String()
	switch {
	case s.ID == "":
		e.deny(d, issuer.CodeForbidden, "no staff account")
	case t.Patient != "" && !issuer.ValidID(t.Patient):
		e.deny(d, issuer.CodeNotFound, "no such patient")
	case !slices.Contains(Actions, action):
		e.deny(d, issuer.CodeForbidden, "no policy allows "+pr.kind.String()+" to "+string(action))
	default:
		ents, req := e.request(pr, action, t, &relations{patientID: t.Patient}, e.now().UTC())
		e.decide(d, pr, action, ents, req)
	}
	return d
}

// decide evaluates the policies and fills d; it reports whether they allow.
func (e *Engine) decide(d *Decision, pr principal, action Action, ents cedar.EntityMap, req cedar.Request) bool {
	dec, diag := e.ps.IsAuthorized(ents, req)
	if len(diag.Errors) > 0 {
		// A policy that errors would be skipped by Cedar: a failing forbid
		// would then not forbid. Deny instead (fail closed).
		for _, er := range diag.Errors {
			d.Policies = append(d.Policies, string(er.PolicyID))
		}
		e.deny(d, issuer.CodeForbidden, "the authorization policy could not be evaluated for this request")
		return false
	}
	for _, r := range diag.Reasons {
		d.Policies = append(d.Policies, string(r.PolicyID))
	}
	sort.Strings(d.Policies)
	if dec != cedar.Allow {
		what := " this patient's cards"
		if pr.kind == kindStaff {
			what = ""
		}
		if len(d.Policies) > 0 {
			e.deny(d, issuer.CodeForbidden, "a policy forbids this ("+strings.Join(d.Policies, ", ")+")")
		} else {
			e.deny(d, issuer.CodeForbidden, "no policy allows "+pr.kind.String()+" to "+string(action)+what)
		}
		return false
	}
	d.Allow = true
	return true
}

// Record writes the decision to the audit trail: actor, a keyed hash of
// the patient id (never the id), action, decision, deciding policies and
// how many resources were withheld as sensitive. It never fails the
// request: the error is returned for logging.
func (e *Engine) Record(ctx context.Context, d *Decision) error {
	if e.audit == nil {
		return nil
	}
	dec := "deny"
	if d.Allow {
		dec = "allow"
	}
	var b strings.Builder
	ref := "-" // no patient: a desk action on the lab itself
	if d.patient != "" {
		ref = e.PatientRef(d.patient)
	}
	fmt.Fprintf(&b, "decision=%s patient=%s policies=%s withheld=%d", dec, ref, strings.Join(d.Policies, ","), d.Withheld())
	if d.f != nil {
		fmt.Fprintf(&b, " kept=%d left_out=%d", d.f.kept, d.f.leftOut())
	}
	if !d.Allow && d.Err != nil {
		fmt.Fprintf(&b, " code=%s", errcode.CodeOf(d.Err))
	}
	actor := "capability"
	switch {
	case d.who != nil:
		actor = d.who.Actor()
	case d.staff != nil:
		actor = "staff:" + d.staff.ID
	}
	return e.audit.Audit(ctx, store.Event{Actor: trunc256(actor), Action: "authz." + string(d.action), Detail: b.String()})
}

// PatientRef is the audit trail's stand-in for a patient id: a keyed hash
// (HMAC-SHA-256 with Config.AuditKey, 64 bits, base64url).
func (e *Engine) PatientRef(id string) string {
	m := hmac.New(sha256.New, e.key)
	m.Write([]byte("patient\x00"))
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:8])
}

func trunc256(s string) string {
	if len(s) > store.MaxIDBytes {
		return s[:store.MaxIDBytes]
	}
	return s
}

// PolicyIDs returns the ids of the engine's policies, sorted.
func (e *Engine) PolicyIDs() []string {
	var out []string
	for id := range e.ps.All() {
		out = append(out, string(id))
	}
	slices.Sort(out)
	return out
}
