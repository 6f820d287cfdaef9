// Package pkcs11 provides SMART Health Cards signing keys held in a PKCS#11
// token (an HSM, a smart card, SoftHSM), through github.com/ThalesGroup/crypto11.
// It needs cgo.
//
// Open a token with Open, then get a keys.Signer with FindKey or
// FindOrGenerateKey. Keys are addressed by CKA_LABEL; generated keys are
// ECDSA P-256 (KEY-1), sensitive and non-extractable, and the kid is the
// RFC 7638 thumbprint of the public key (HDR-4).
//
// # Security considerations
//
//   - The private key never leaves the token; Sign only accepts SHA-256
//     digests (ES256).
//   - Config carries the user PIN. Its String, GoString and LogValue omit
//     it, but keep the PIN out of command lines and world-readable files.
//   - Several key pairs with the same label are an error (keys.ErrAmbiguousKey)
//     rather than an arbitrary pick.
package pkcs11
