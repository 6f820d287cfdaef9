// Package issuer is the issuing core of a SMART Health Cards issuer service,
// without HTTP: it validates FHIR R4 lab and immunization bundles, splits
// them into granular cards (PAY-10), minifies them for QR codes (MIN-*),
// signs them with the active key of a key ring (HDR-*, KEY-*), derives
// revocation ids (REV-3), answers $health-cards-issue (OP-3..11) from a
// Source, and revokes cards (REV-4..7) through the persistence contract of
// package issuer/store.
package issuer
