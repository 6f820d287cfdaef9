// Package terminology is the project's one table of clinical codes: the
// LOINC lab tests, SNOMED CT qualitative results and CVX vaccines a SMART
// Health Card commonly carries, each with its display name and the groups
// it belongs to (COVID-19 tests by method, influenza A and B tests, and
// vaccines by the disease they prevent).
//
// Minimized cards carry no display text (MIN-4, MIN-5 drop
// CodeableConcept.text and Coding.display), so whoever shows a card to a
// person needs names for its codes. The verifier's summary, the issuer's
// value sets (OP-7), its per-disease card split (PAY-10) and its printable
// page all read this one table, so a code has one name everywhere.
//
// The package is public because embedders benefit: a wallet or a venue app
// that renders a card, or a lab desk that builds a test picker (InGroup,
// Groups), needs the same names and groupings without linking the verifier
// or the issuer. It imports only the standard library, holds no state
// beyond the table, and never fetches anything.
//
// # Names
//
// Display is the code system's own short display where the table carries
// it: the LOINC short name (94500-6 "SARS-CoV-2 RNA Resp Ql NAA+probe"),
// the CDC CVX short description (208 "COVID-19, mRNA, LNP-S, PF, 30
// mcg/0.3 mL dose"), the SNOMED CT preferred term ("Not detected"). Where
// the table does not carry the LOINC short name it gives the LOINC long
// common name; a few recent CVX codes whose short description the table
// does not carry are named by their vaccine group ("RSV vaccine or
// antibody"). Every code in the table has a name; a code not in the table
// has none, and callers show it by its code.
//
// CVX codes are compared without leading zeros ("08" is "8"), as the
// issuer always has.
//
// # Security considerations
//
// Names are labels for people, looked up from codes that the caller has
// already authenticated (a verified card) or produced itself; a name never
// adds meaning a code does not have. Lookups do not allocate and take
// constant time in the size of the input's code, so untrusted codes cost
// nothing to look up. The table is read-only after package
// initialization; functions return copies, so callers cannot change it.
package terminology
