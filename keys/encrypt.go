package keys

import (
	"bytes"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// PBES2 iteration counts for key files encrypted at rest.
const (
	// DefaultPBES2Count is the PBKDF2-HMAC-SHA512 iteration count used when
	// writing (OWASP 2023 guidance for PBKDF2-HMAC-SHA512 is 210000; this is
	// well above it and equals go-jose's default).
	DefaultPBES2Count = 600_000
	// MinPBES2Count is the lowest count accepted when reading: weaker files
	// are refused rather than silently trusted (only a Ring opened with
	// WithTestWorkFactor accepts TestPBES2Count files).
	MinPBES2Count = 100_000
	// TestPBES2Count is the count a Ring opened with WithTestWorkFactor
	// writes and the lowest it reads. It protects nothing; it exists so that
	// test suites do not spend their time in PBKDF2.
	TestPBES2Count = 1_000
	// MaxPBES2Count bounds the work an attacker-supplied file can cause
	// (one PBKDF2 run per read). go-jose applies the same cap.
	MaxPBES2Count = 1_000_000
)

// pbes2WriteCount is the count MarshalPrivateJWK writes; this package's
// tests lower it to MinPBES2Count to save time (never below what reading
// accepts).
var pbes2WriteCount = DefaultPBES2Count

const (
	keyFileKeyAlg = jose.PBES2_HS512_A256KW
	keyFileEnc    = jose.A256GCM
	keyFileCty    = "jwk+json"
)

// encryptKeyFile seals plain as a compact JWE under passphrase with count
// PBES2 iterations.
func encryptKeyFile(plain, passphrase []byte, count int) ([]byte, error) {
	enc, err := jose.NewEncrypter(keyFileEnc,
		jose.Recipient{Algorithm: keyFileKeyAlg, Key: passphrase, PBES2Count: count},
		(&jose.EncrypterOptions{}).WithContentType(keyFileCty))
	if err != nil {
		return nil, newErr(CodeIO, "setting up key file encryption", err)
	}
	obj, err := enc.Encrypt(plain)
	if err != nil {
		return nil, newErr(CodeIO, "encrypting key file", err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		return nil, newErr(CodeIO, "serializing key file", err)
	}
	return []byte(s), nil
}

// isCompactJWE reports whether data looks like a compact JWE: five
// base64url parts, rather than JSON.
func isCompactJWE(data []byte) bool {
	for _, c := range data {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return bytes.Count(data, []byte{'.'}) == 4
}

// decryptKeyFile opens a key file written by encryptKeyFile. Only
// PBES2-HS512+A256KW with A256GCM is accepted, and the iteration count must
// lie in [minCount, MaxPBES2Count] before any key derivation runs: the upper
// bound caps the work a hostile file can cause, the lower one refuses
// weakly protected files.
func decryptKeyFile(data, passphrase []byte, minCount int) ([]byte, error) {
	obj, err := jose.ParseEncryptedCompact(string(data),
		[]jose.KeyAlgorithm{keyFileKeyAlg}, []jose.ContentEncryption{keyFileEnc})
	if err != nil {
		return nil, newErr(CodeMalformed, "key file is not a PBES2-HS512+A256KW/A256GCM compact JWE", err)
	}
	p2c, ok := obj.Header.ExtraHeaders["p2c"].(float64)
	if !ok {
		return nil, newErr(CodeBadPBES2Count, "encrypted key file has no numeric p2c", nil)
	}
	if p2c < float64(minCount) || p2c > MaxPBES2Count || p2c != float64(int64(p2c)) {
		return nil, newErr(CodeBadPBES2Count,
			fmt.Sprintf("p2c %v outside [%d, %d]", p2c, minCount, MaxPBES2Count), nil)
	}
	if _, zipped := obj.Header.ExtraHeaders["zip"]; zipped {
		return nil, newErr(CodeMalformed, "compressed key files are not accepted", nil)
	}
	plain, err := obj.Decrypt(passphrase)
	if err != nil {
		if errors.Is(err, jose.ErrCryptoFailure) {
			return nil, newErr(CodeDecrypt, "wrong passphrase, or the key file was modified", nil)
		}
		return nil, newErr(CodeMalformed, "decrypting key file", err)
	}
	return plain, nil
}
