// Package desk is the lab's front desk in the issuer service: staff sign
// in with passkeys (issuer/identity), enter a test result in a
// server-rendered form and hand the patient a card: a large QR on screen,
// a print page (A4 / Letter), a .smart-health-card download and a SMART
// Health Link with a passcode and the default expiry. Supervisors also
// revoke a patient's cards (the REV-5 timestamp form: cards issued before
// now). No JavaScript framework; the only script is the WebAuthn call on
// the sign-in and enrolment pages.
//
// Routes (Mount):
//
//	GET  /desk/                 home (signed in) or a redirect to sign-in
//	GET  /desk/signin           passkey sign-in; POST /desk/signin/{begin,finish}
//	GET  /desk/enrol            invitation code → passkey; POST /desk/enrol/{begin,finish}
//	POST /desk/signout
//	GET  /desk/issue            the result form (role desk and up)
//	POST /desk/issue            validate, build the FHIR bundle, store it and issue (same code as POST /v1/cards)
//	POST /desk/share            a SMART Health Link for an issued card (passcode shown once)
//	POST /desk/revoke           revoke a patient's cards issued before now (supervisor and up)
//	GET  /desk/find?family=&given=&birthDate=  patients by name prefix (case-insensitive) and birth date, at most 50
//	GET  /desk/patient?id=      a patient's stored results, and their cards with a state: valid,
//	                            revoked (REV-5: bare rid, or rid.T with nbf < T) or superseded
//	                            (revoked by a timestamp entry and a newer valid card holds the same result type)
//	POST /desk/correct          revoke (timestamp form), replace the result, issue the corrected card (supervisor)
//	GET  /desk/audit[.csv]      the audit trail, and its CSV export (supervisor and up)
//	POST /desk/enrolments       enrol the patient of the page (photo ID kind, IAL): a one-time sign-up
//	                            code and a QR of /account/signup#code=… (issue 13; desk and up, action enrol)
//	POST /desk/enrolments/guardian  link an enrolled guardian to the patient, or enrol a guardian-only account
//	POST /desk/enrolments/{unlink,revoke-code,revoke-passkey,disable}  on the patient's or a guardian's account
//
// # Security considerations
//
//   - Every page and action needs a session (identity.Authenticate; a
//     disabled account has none) and a decision of the one decision point,
//     issuer/authz (Engine.AuthorizeStaff: principal Staff with its role,
//     the same policies and audit trail as the API); a missing or expired
//     session sends the person to sign in, a denial gets 403 (forbidden).
//   - Every POST must come from the service's own Origin; POSTs made with a
//     session must also carry its CSRF token (csrf_rejected otherwise).
//   - Pages have a strict CSP (nonce'd inline style and script, images from
//     the service and data: URLs only, form-action 'self'), no caching.
//   - Patient accounts are not staff: their codes are not redeemed at
//     /desk/enrol, their passkeys do not sign in here, and their sessions
//     are refused (identity.StaffSession). The enrolment forms reach only
//     patient accounts of the patient on the page (or its guardians).
//   - Logs carry the route, the staff account id and counts: never names,
//     birth dates, patient ids, codes or tokens. The passcode of a link is
//     shown once and stored only as a hash (shl/host).
package desk
