// Package keys holds the issuer key material of SMART Health Cards: ES256
// (ECDSA P-256) keys, their public JWKs and JWKS (KEY-1, KEY-2, KEY-7,
// KEY-11), private key files, and a key Ring for rotation (KEY-8..KEY-10).
//
// Public keys are modelled by JWK, which has no field for the private scalar
// "d": a JWKS built from this package cannot publish private material, and
// ParseJWKS refuses a set that does (any of "d", "p", "q", "dp", "dq",
// "qi", "oth", "k"): it is no trust source, and its key is compromised
// (KEY-2). The
// same kid may appear several times in a JWKS (one entry per certificate,
// KEY-7); JWKS.Lookup returns every match.
//
// Private keys are loaded with LoadPrivate or ReadPrivateFile and used
// through the Signer interface (crypto.Signer plus KeyID), so issuers learn
// the kid without touching private material. A hardware-backed Signer lives
// in the keys/pkcs11 subpackage.
//
// # Key files
//
// A key file is a private JWK or a JWKS of private JWKs (the shape of the
// VCI generator's issuer.jwks.private.json). With a passphrase it is stored
// as a compact JWE: PBES2-HS512+A256KW key wrapping with DefaultPBES2Count
// PBKDF2 iterations, and A256GCM content encryption, all done by go-jose.
// Files are written with mode 0600 through a temporary file, fsync and
// rename, so a crash never leaves half a key file.
//
// # Security considerations
//
//   - Only P-256 keys with use "sig" (or absent) and alg "ES256" (or absent)
//     are accepted for signing. ECDH-ES "enc" keys are refused (KEY-5).
//   - A loaded key must be consistent: d*G equals (x, y), a present kid equals
//     the RFC 7638 thumbprint, and an x5c leaf certificate holds the same key.
//   - Reading an encrypted file accepts only the algorithms above and a PBES2
//     iteration count in [MinPBES2Count, MaxPBES2Count], checked before any
//     key derivation, so a hostile file cannot demand unbounded work. Files
//     are capped at MaxJWKSBytes.
//   - Test suites lower the work factor only through the Ring option
//     WithTestWorkFactor (TestPBES2Count both written and the floor when
//     read). It is code, not configuration: no environment variable or file
//     switches it on, and a ring opened without it refuses such weak files.
//   - A passphrase given for a plaintext file is an error (ErrNotEncrypted),
//     so a plaintext key dropped in place of an encrypted one is not used.
//   - PrivateKey prints and logs as its kid only (String, GoString, Format,
//     LogValue), and its MarshalJSON emits the public JWK. Private JWK bytes
//     come only from MarshalPrivateJWK and WritePrivateFile.
//   - Go cannot reliably wipe memory; byte buffers holding "d" are cleared
//     after use as a best effort only. Deleting a file on an SSD or a
//     copy-on-write file system does not guarantee the bytes are gone: use
//     encrypted key files or a PKCS#11 token where that matters.
//
// # Errors
//
// Every error is an *Error with a stable Code; match with errors.Is against
// the Err* sentinels or with CodeOf.
package keys
