// Package account is the patient's side of the issuer's site (issue 13):
// redeeming the sign-up code the front desk gave after checking a photo
// ID, registering a passkey, signing in with it, and a home page saying
// who the person is and whom they act for. It also holds the enrolment
// logic the desk and the API share (Enroller): the account and its code
// (issuer/identity), the RelatedPerson resources of a guardian's wards
// (read by issuer/authz's guardian policies) and the audit trail.
//
// Routes (Pages.Mount):
//
//	GET  /account/signup          enter (or scan: /account/signup#code=…) the code → passkey; POST /account/signup/{begin,finish}
//	GET  /account/signin?next=    passkey sign-in, then back to next (a same-origin relative path, SafeNext); POST /account/signin/{begin,finish}
//	GET  /account/                who I am, whom I act for, a link to /account/apps (served by issuer/oauth)
//	POST /account/signout
//
// The session is identity.PatientCookie; the authorization server reads
// it with identity.Service.PatientSession.
//
// # Security considerations
//
//   - Only patient accounts: a staff code is not redeemed here, a staff
//     passkey's sign-in is ended at once and refused, a staff session gets
//     403. The desk refuses patient accounts likewise.
//   - Codes are single use, expire (identity.Config.EnrolmentCodeTTL),
//     are stored hashed, and their redemption is rate-limited per client
//     address and globally, in the database (shared by replicas). The code
//     travels in the sign-up URL's fragment, so it never reaches a server
//     log or a Referer header; the page removes it from the address bar.
//   - Every POST must come from the site's own Origin; sign-out also needs
//     the session's CSRF token. Pages have a strict CSP with a nonce, no
//     caching, no framing.
//   - next is refused unless it is a same-origin path (no "//", "/\",
//     scheme, host, control characters, or such forms after decoding).
//   - A passkey signs in only the account it was registered for; revoked
//     passkeys and disabled accounts cannot sign in.
//   - Logs carry account ids and error codes: never names, codes, tokens
//     or credential ids.
package account
