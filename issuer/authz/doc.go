// Package authz decides who may get whose cards (issue 12): one decision
// point, Engine.Authorize, for every access to patient data — the
// $health-cards-issue operation, card downloads and print pages, SMART
// Health Link creation, viewing and revocation — and, through
// Engine.AuthorizeStaff, every page and action of the lab's front desk
// (principal Staff with its role: desk, supervisor, admin).
//
// Policies are data: Cedar policies (github.com/cedar-policy/cedar-go)
// validated against an embedded schema (Schema) when the Engine is built;
// an invalid policy stops the service from starting. The embedded default
// set (DefaultPolicyFiles, documented in docs/authorization.md) is replaced
// as a whole by a policy directory (shc-issuer serve --policy DIR).
//
// Principals come from the access token: fhirUser Patient, RelatedPerson
// or Practitioner; else the SMART "patient" claim; an API token is a
// LabSystem; any other JWT a SystemClient; no token (a card's capability
// URL) a CapabilityHolder. Relations come from the patient's FHIR data
// through the issuer.Source: RelatedPerson (relationship, active, period),
// CareTeam participants and Patient.generalPractitioner.
//
// For issue and share, an allowed decision also filters cards: the
// effective permission is the token's SMART read scopes (v1, and v2 with
// category/code restrictions; a clinical type's read scope implies the
// supporting resources on its card) ∩ its authorization_details of type
// "healthcards:cards" (RFC 9396) ∩ the policy, and sensitive results are
// left out unless an active Consent of the patient releases them.
//
// # Security considerations
//
//   - Forbid wins over permit; nothing permitted is denied; a policy that
//     fails to evaluate denies the request (Cedar would skip it, and a
//     skipped forbid would allow).
//   - Every schema attribute is always set, and facts that cannot be read
//     (an unparseable period or birth date) count against access.
//   - Sensitive results (meta.security confidentiality R/V, ActCode
//     sensitivity codes, Config.SensitiveCodes) withheld from a card are
//     never named to the caller: a request that only lost such cards looks
//     like one with nothing to issue. The count goes to the audit trail.
//   - Unsupported granular scope parameters make a scope grant nothing; a
//     malformed healthcards:cards detail refuses the request
//     (invalid_authorization_details); other detail types are ignored.
//   - A disabled staff account never reaches the engine (issuer/identity
//     sessions refuse it); a Staff principal with no staff role is
//     forbidden everything (staff-without-role).
//   - Audit events carry the actor, a keyed hash of the patient id
//     (PatientRef), the action, the decision, the deciding policy ids and
//     counts; never names, birth dates, resources or tokens.
package authz
