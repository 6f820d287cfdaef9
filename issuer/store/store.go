// Package store defines the issuer service's persistence contract and the
// types it stores. The contract is split by consumer into five small
// interfaces (PatientStore, CardStore, RevocationStore, TokenStore,
// AuditStore); Store is all of them. One SQL implementation, package
// store/sqlstore, serves SQLite (the embedded default, opened by
// store/sqlite) and PostgreSQL (for several replicas, store/postgres) with
// one set of statements; package store/memstore keeps the same contract in
// memory for tests. All pass one test suite (package storetest).
//
// What is stored: the clinical data that labs send (per patient), the cards
// issued, revocations with their counters, API tokens (hashed) and an audit
// log. Keys are not stored here: they live in the key ring (package keys) or
// an HSM. SMART Health Links have their own store contract (package shl).
//
// # Durability
//
// Every method that changes state has committed durably when it returns nil:
// an acknowledged revocation survives a crash (SQLite: WAL with
// synchronous=FULL; PostgreSQL: a committed transaction).
//
// # Conventions shared by all implementations
//
//   - Times are stored with microsecond precision and returned in UTC.
//   - A zero Event.Time, IssuedCard.IssuedAt or Token.CreatedAt is set to the
//     current time by the store.
//   - Arguments over the limits below, empty required ids, invalid JSON or
//     malformed CRL entries are refused with an error wrapping ErrInvalid,
//     before anything is written. Errors never quote stored JSON or JWS.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Errors with fixed meaning; implementations wrap them so errors.Is works.
var (
	ErrNotFound = errors.New("store: not found")
	ErrConflict = errors.New("store: conflict")
	// ErrInvalid reports an argument the store refuses (see the limits).
	ErrInvalid = errors.New("store: invalid argument")
	// ErrSchemaTooNew reports a database migrated by a newer release.
	ErrSchemaTooNew = errors.New("store: database schema is newer than this program")
)

// Limits every implementation enforces (ErrInvalid beyond them).
const (
	MaxIDBytes         = 256     // ids, kids, types, actors, actions, labels
	MaxJSONBytes       = 4 << 20 // one Resource.JSON or Patient
	MaxResourcesPerPut = 10000   // resources in one PutResources
	MaxJWSBytes        = 1 << 20 // IssuedCard.JWS
	MaxDetailBytes     = 8 << 10 // Event.Detail
	MaxListItems       = 256     // Types, CardTypes, Scopes, type filters
	MaxRevokeEntries   = 10000   // entries in one Revoke
	MaxAuditLimit      = 10000   // AuditLog returns at most this many
	MaxSearchResults   = 100     // FindPatients returns at most this many
	MaxPatientCards    = 1000    // PatientCards returns at most this many
)

// PatientQuery finds patients by name and birth date (FindPatients). At
// least one field is required. Family and Given are case-insensitive
// prefixes of a family name and of any given name of one of the Patient's
// names; BirthDate is the FHIR date exactly as stored (YYYY, YYYY-MM or
// YYYY-MM-DD). Limit caps the results (0 or over MaxSearchResults means
// MaxSearchResults; negative is ErrInvalid).
type PatientQuery struct {
	Family, Given, BirthDate string
	Limit                    int
}

// PatientMatch is one patient FindPatients found.
type PatientMatch struct {
	ID      string
	Patient json.RawMessage
}

// Resource is one FHIR resource held for a patient.
type Resource struct {
	PatientID string
	Type      string    // FHIR resourceType, e.g. "Observation", "Immunization", "DiagnosticReport"
	ID        string    // logical id, unique per (PatientID, Type); assigned by the caller if the lab sent none
	Date      time.Time // clinically relevant date (effective/occurrence), for _since; zero if unknown
	Updated   time.Time // when the service stored this version (set by the store)
	JSON      json.RawMessage
}

// IssuedCard records a card the service signed.
type IssuedCard struct {
	ID        string // random, URL-safe; used in download links
	PatientID string
	Kid       string
	RID       string
	Types     []string // FHIR resource types in the card, sorted (e.g. ["Immunization","Patient"])
	IssuedAt  time.Time
	JWS       string
}

// RevocationEntry adds one CRL entry for one key (REV-4, REV-5): Entry is a
// rid or "rid.TIMESTAMP".
type RevocationEntry struct {
	Kid   string `json:"kid"`
	Entry string `json:"entry"`
}

// CRL is the revocation list of one key. Ctr is the service-wide revocation
// counter (starts at 1, REV-4), which is also every key's crlVersion (REV-7).
type CRL struct {
	Kid  string
	Ctr  int64
	RIDs []string // in insertion order, no duplicates
}

// Token is an API token for lab systems. Only a hash of the secret is stored.
type Token struct {
	ID        string
	Hash      []byte // SHA-256 of the secret
	Scopes    []string
	Label     string
	CreatedAt time.Time
	RevokedAt *time.Time
}

// Event is one audit-log entry. It never holds PHI: no names, birth dates
// or bundles; patient ids only as the service's opaque ids are allowed in
// Subject when the operator enables it.
type Event struct {
	ID        int64 // set by the store
	Time      time.Time
	Actor     string // token id, "patient:<id>" for SMART tokens, or "cli"
	Action    string // "issue", "revoke", "token.create", "link.create", ...
	Kid       string
	RID       string
	CardTypes []string
	Detail    string
}

// The store is split by concern, so that each consumer depends on the
// methods it calls: the issuer library on PatientStore, CardStore,
// RevocationStore and AuditStore (issuer.Store), token authentication on
// TokenStore (issuer/auth), the service's card download and readiness
// check on CardStore and RevocationStore, and token administration
// (shc-issuer tokens) on TokenStore and AuditStore. One implementation
// (package sqlstore, or memstore in tests) implements them all as Store.
//
// Implementations are safe for concurrent use. Context cancellation aborts
// a call without partial writes.

// PatientStore holds the clinical data labs send, per patient.
type PatientStore interface {
	// PutResources stores a patient and their resources in one transaction,
	// replacing resources with the same (PatientID, Type, ID); a later
	// duplicate in res wins. patient may be nil to keep the stored Patient.
	// A Resource's PatientID may be empty (it is set to patientID) but must
	// not name another patient.
	PutResources(ctx context.Context, patientID string, patient json.RawMessage, res []Resource) error
	// Patient returns the stored Patient resource, or ErrNotFound.
	Patient(ctx context.Context, patientID string) (json.RawMessage, error)
	// Resources returns a patient's resources of the given types (all types
	// if none), with Date on or after since (all if zero; resources with an
	// unknown Date are left out when since is set), ordered by Date (unknown
	// first) then Type then ID. An unknown patient gives an empty list.
	Resources(ctx context.Context, patientID string, types []string, since time.Time) ([]Resource, error)
}

// PatientSearch finds patients and their cards for the lab's front desk.
type PatientSearch interface {
	// FindPatients returns the patients with a stored Patient resource
	// that match q, ordered by patient id, at most q.Limit.
	FindPatients(ctx context.Context, q PatientQuery) ([]PatientMatch, error)
	// PatientCards returns the cards issued for a patient, oldest first
	// (IssuedAt, then ID), at most limit (0 or over MaxPatientCards means
	// MaxPatientCards). An unknown patient gives an empty list.
	PatientCards(ctx context.Context, patientID string, limit int) ([]IssuedCard, error)
}

// CardStore records the cards the service signed.
type CardStore interface {
	// PutCard records an issued card and its audit event atomically
	// (ErrConflict if the card id exists; nothing is written then).
	PutCard(ctx context.Context, c IssuedCard, ev Event) error
	// Card returns an issued card by id, or ErrNotFound.
	Card(ctx context.Context, id string) (IssuedCard, error)
}

// RevocationStore holds the revocation lists and the revocation counter
// (REV-4, REV-7).
type RevocationStore interface {
	// Revoke adds the entries (ignoring ones already present), increments
	// the revocation counter by one and writes the audit event, all in one
	// durable transaction, and returns the new counter. An empty entries
	// list is an error (ErrInvalid). Kid must be base64url (1..MaxIDBytes
	// characters); Entry is a rid of 1..64 base64url characters, optionally
	// followed by "." and 1..19 digits (REV-5). Concurrent calls, also from
	// other replicas, never lose an increment.
	Revoke(ctx context.Context, entries []RevocationEntry, ev Event) (ctr int64, err error)
	// CRL returns the revocation list for kid (empty RIDs if none) with the
	// current counter, read from one snapshot.
	CRL(ctx context.Context, kid string) (CRL, error)
	// CRLVersion returns the current revocation counter (1 before any revocation).
	CRLVersion(ctx context.Context) (int64, error)
}

// TokenStore holds the API tokens of lab systems (hashed).
type TokenStore interface {
	// PutToken stores a new token (ErrConflict if the id or hash exists).
	PutToken(ctx context.Context, t Token) error
	// TokenByHash returns the token whose Hash equals hash, or ErrNotFound.
	TokenByHash(ctx context.Context, hash []byte) (Token, error)
	// Tokens lists all tokens in the order they were stored.
	Tokens(ctx context.Context) ([]Token, error)
	// RevokeToken marks a token revoked at time at (ErrNotFound if no such
	// id). Revoking a revoked token keeps the first revocation time.
	RevokeToken(ctx context.Context, id string, at time.Time) error
}

// AuditStore is the audit log.
type AuditStore interface {
	// Audit appends an event.
	Audit(ctx context.Context, ev Event) error
	// AuditLog returns the newest events first, at most limit (capped at
	// MaxAuditLimit; a negative limit is ErrInvalid).
	AuditLog(ctx context.Context, limit int) ([]Event, error)
}

// Store is all of the issuer's persistence: what a store implementation
// provides and what the conformance suite (package storetest) checks.
type Store interface {
	PatientStore
	PatientSearch
	CardStore
	RevocationStore
	TokenStore
	AuditStore
	// Close releases the store.
	Close() error
}
