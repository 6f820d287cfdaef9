// Package identity signs people in to the issuer's pages without
// passwords: accounts (lab staff now, patients for the wallet issue later),
// one-time invitation / enrolment codes, WebAuthn passkeys
// (github.com/go-webauthn/webauthn) and cookie sessions with CSRF tokens.
// It is built once for both: a staff invitation and a patient's desk
// enrolment are the same code, redeemed on the device that will hold the
// passkey.
//
// Flow: an administrator adds an account (`shc-issuer staff add`), which
// yields a one-time code; the person opens the enrolment page, types the
// code, registers a passkey (BeginEnrol / FinishEnrol) and is signed in.
// Later sign-ins use the passkey alone (BeginSignIn / FinishSignIn, a
// discoverable credential). Roles are in roles.go; what a role may do is
// decided by issuer/authz (principal Staff), the one decision point.
//
// Patients (issue 13) are proofed at the desk: staff who checked a photo
// ID call EnrolPatient with the evidence kind and the identity assurance
// level (https://smarthealth.cards/ial, IAL1.4 and up), which yields a
// one-time sign-up code; the patient redeems it on their phone
// (BeginEnrolFor with PatientsOnly) and later signs in with the passkey.
// A guardian's account is linked to wards (LinkWard, Wards): the
// RelatedPerson each acts as is a FHIR resource the caller creates, which
// the authorization policies read. Staff and patient sessions use
// separate cookies (StaffCookie, PatientCookie); StaffSession and
// PatientSession read them and refuse the other kind of account. A lost
// phone is a new enrolment of the same Patient (the account is reused,
// ReplacePasskeys drops the old passkeys); RevokePasskey and Disable stop
// a device or the account. All three cut the account off: Config.OnCutOff
// runs before they commit (the issuer withdraws the account's OAuth grants
// there, so a wallet's tokens stop with the passkey). The desk and the patient pages share the HTTP
// side from here too: CheckOrigin, the ceremony cookie
// (SetCeremonyCookie, TakeCeremonyCookie), Service.ClientKey (by
// Config.ClientIP behind reverse proxies), ErrorJSON and the page headers
// (PageNonce, SetPageHeaders).
//
// Storage goes through internal/sqldb: one SQLite file (Config.Path,
// identity.db in the service's data directory) for one process, or the
// issuer's PostgreSQL database (Config.PostgresDSN, tables id_*) shared by
// replicas. Everything that must hold across replicas is decided in the
// database: a code is consumed by one conditional UPDATE, code attempts
// are counted with atomic upserts per minute. ImportSQLite moves an
// identity.db into PostgreSQL.
//
// # Security considerations
//
//   - No passwords or knowledge questions are stored. Codes have 60 random
//     bits, are stored as SHA-256 hashes, expire (Config.CodeTTL, 24 h by
//     default), are single use (consumed atomically when the passkey is
//     registered), revocable, and their redemption is rate-limited per
//     client and globally (in the database; client keys stored hashed).
//     The client's own limit is checked first and only attempts within it
//     count globally, so one client cannot spend everybody's budget. The
//     client is Config.ClientIP's: behind a reverse proxy it must read the
//     proxy's X-Forwarded-For (internal/clientip), or all clients share the
//     proxy's limit.
//     One error code (invalid_enrolment_code) answers unknown, expired,
//     used and revoked codes alike.
//   - Session tokens (256 bits) and CSRF tokens are random; the database
//     keeps only the session token's hash. Sessions end after
//     Config.IdleTimeout without use and Config.AbsoluteTimeout after
//     sign-in, at sign-out, and when the account is disabled.
//   - The session cookie is __Host- prefixed, Secure, HttpOnly,
//     SameSite=Strict, Path=/. State-changing requests must carry the
//     session's CSRF token (CheckCSRF, constant-time) and, when the browser
//     sends one, an Origin equal to the service's (the pages' POSTs must
//     send it: CheckOrigin). ErrorJSON never puts an uncoded or internal
//     error's text in an answer.
//   - A disabled account cannot enrol or sign in, and its sessions stop at
//     once. Revoking a passkey ends the account's sessions too. A passkey
//     signs in only the account it was registered for (the credential must
//     be among that account's own), whatever user handle it presents.
//   - Enrolment keeps the kind of document, the level, who checked and
//     when; never the document's number.
//   - Passkey ceremonies (5 minutes each) are capped (Config.MaxCeremonies):
//     the public sign-in page cannot grow their table without bound. Nothing here logs codes, tokens, credential ids or names.
package identity
