// Package bulk issues SMART Health Cards at registry scale: a FHIR Bulk
// Data export ($export NDJSON, one file per resource type, in a directory
// or a ZIP) in; per patient a .smart-health-card file, QR PNG/SVG images,
// a print-ready PDF (A4 or US Letter) and a SMART Health Link out, with
// one results.ndjson line per patient or bad record.
//
// A bulk card is the same card as one issued through the API: each
// patient's resources, with the supporting resources they reference
// (resolved across files), become one collection Bundle that goes through
// issuer.Issuer.IssueBundle — validation, the granular split (PAY-10),
// minification (MIN-1..7), signing, the rid (REV-3), the size rule
// (SIZE-3, when a QR or PDF is asked for) and the store with its audit
// event.
//
// # Bounded memory
//
// Input is read line by line (at most MaxRecordBytes per record) into a
// SQLite index under OUT/.bulk, keyed by patient; patients are then read
// back a page at a time. Nothing grows with the number of patients but the
// index on disk.
//
// # Resuming
//
// Run again with the same batch id and output directory continues a run
// that stopped at any point, SIGKILL included:
//
//   - Card ids derive from the batch id and patient id with the issuer's
//     secret (issuer.IssueOptions.IdempotencyKey), and the store refuses a
//     second card with an existing id atomically, so a patient whose cards
//     were stored before a kill is never issued again: the stored cards are
//     read back and their files rewritten.
//     A patient's cards are stored in one transaction, all or none, so
//     replicas resuming the same batch id on one PostgreSQL report the same
//     complete set (TestTwoReplicasSameBatchPostgres).
//   - A result line is appended only after the patient's cards are durable
//     in the store and its files on disk (syncfs), and results.ndjson is
//     fsynced before the line counts as done; on restart a torn last line
//     is cut off and every complete line is skipped. Every card named in
//     results.ndjson is durable; none is named twice.
//   - An interrupted indexing starts over (it writes nothing outside the
//     index).
//   - A patient's SMART Health Link (Outputs.Link, made by a Linker: the
//     issuer service's link code, httpapi.Links.CardLink) has an id, and
//     with Outputs.LinkPasscode a passcode, derived from the batch id and
//     patient id with the rid secret, like card ids: an attempt after a
//     kill names the same link, the link store refuses a second one, and
//     the existing link is reported (TestLinksResumeAfterLostResults).
//
// # Batches in the database (Manager)
//
// Batches submitted through the API (POST /v1/batches) are kept by a
// Manager in the issuer store's database (sqlstore's bulk_* tables, on
// SQLite or PostgreSQL), not on one replica's disk:
//
//   - The upload is stored in pieces of 1 MiB (bounded by the API's upload
//     limit) before the batch is queued, and deleted when it finishes.
//   - A replica takes a batch by one conditional UPDATE of its lease
//     (ManagerConfig.Lease, 30 s by default), renewed every third of it;
//     a run whose lease cannot be renewed stops. When a replica dies, the
//     batch's lease ends and another replica claims it, copies the input
//     to its scratch directory, rebuilds the index and skips every result
//     already recorded: cards and links are found again, never made twice.
//   - Result lines are recorded in the database, each key once, in the
//     transaction that also advances the batch's counters, so that every
//     replica answers GET /v1/batches/{id} the same.
//   - No output file is kept: the .smart-health-card, QR and PDF files are
//     rendered from the stored cards (and the recorded link) when they are
//     downloaded, on whichever replica serves the request.
//
// # Bad records
//
// Bad records never stop the run. A line that is not a resource the run
// can place gets a "record/FILE:LINE" result with CodeInvalidRecord,
// CodeDuplicateRecord, issuer.CodeUnsupportedType or CodeTooLarge; a
// patient that cannot be issued gets a failed "patient/ID" result with the
// issuer's code (missing_patient when only other resources name it,
// unresolved_reference for a dangling reference, card_too_large_for_qr)
// or CodeUnknownCodeSystem. Only failures of the run itself (input or
// output unreadable, store or signing key failing) stop it, and it can be
// run again.
//
// # Security considerations
//
//   - results.ndjson, the cards, images and PDFs hold PHI: they are written
//     0600 under the output directory, which the operator must protect like
//     the store. Logs carry counts and the batch id only, never PHI.
//   - PDFs print the name and birth date and the contents read from the
//     signed card itself (not from the input), so the words match the QR.
//   - Inputs are bounded: record size, file count, bytes per file (ZIP
//     entries included), references followed per patient.
//   - Card ids stay unguessable: they are HMACs under the rid secret. Link
//     ids are 256-bit HMACs under it too (SHL-4); each link's key is
//     random, so an id alone opens nothing. Link passcodes (8 digits) are
//     in results.ndjson and on the PDF, which are as secret as the cards;
//     the link host's lifetime limit on wrong passcodes (SHL-10) holds.
//     The Manager's database does not keep them (the link host keeps an
//     argon2id hash only): they are derived again, under the rid secret,
//     when results.ndjson or a PDF is downloaded.
//   - Leases are written and compared with the database's clock
//     (PostgreSQL's now(), read before each claim and renewal), so
//     replicas' clocks need not agree. A lease taken early (a database
//     clock stepped forward) costs time, never a duplicate: every result,
//     card and link is written once by key.
package bulk
