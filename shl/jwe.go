package shl

import (
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// Encryption limits.
const (
	// MaxJWELen bounds the compact JWE text Decrypt accepts (16 MiB).
	MaxJWELen = 16 << 20
	// joseInflateFloor is go-jose's inflate ceiling: it refuses to inflate
	// past max(250 kB, 10 × compressed size). Encrypt stays within it.
	joseInflateFloor = 250_000
	joseInflateRatio = 10
)

// Media types used by SMART Health Links (SHL-11, SHL-12).
const (
	ContentTypeSHC       = "application/smart-health-card"
	ContentTypeAPIAccess = "application/smart-api-access"
	ContentTypeFHIR      = "application/fhir+json"
	MediaTypeJOSE        = "application/jose"
)

// Encrypt encrypts plaintext for a link as a compact JWE with alg "dir",
// enc "A256GCM" and cty contentType (SHL-17). Each call uses a fresh random
// 96-bit IV (SHL-18). With compress, the plaintext is raw-DEFLATEd first and
// the header gets zip "DEF" — unless the compressed form would inflate past
// what go-jose-based receivers accept (more than 250 kB and more than 10×),
// in which case the file is sent uncompressed so every receiver can read it.
func Encrypt(key []byte, contentType string, plaintext []byte, compress bool) (string, error) {
	if len(key) != KeySize {
		return "", newErr(CodeInvalidArgument, "key must be %d bytes, got %d", KeySize, len(key))
	}
	if contentType == "" {
		return "", newErr(CodeInvalidArgument, "contentType is required (cty, SHL-17)")
	}
	if len(plaintext) > MaxJWELen/2 {
		return "", newErr(CodeTooLarge, "plaintext of %d bytes exceeds %d", len(plaintext), MaxJWELen/2)
	}
	s, err := encrypt(key, contentType, plaintext, compress)
	if err != nil || !compress || len(plaintext) <= joseInflateFloor {
		return s, err
	}
	// Ciphertext length equals compressed length for GCM.
	parts := strings.Split(s, ".")
	if len(parts) == 5 && int64(len(parts[3]))*3/4*joseInflateRatio < int64(len(plaintext)) {
		return encrypt(key, contentType, plaintext, false)
	}
	return s, nil
}

func encrypt(key []byte, contentType string, plaintext []byte, compress bool) (string, error) {
	opts := (&jose.EncrypterOptions{}).WithContentType(jose.ContentType(contentType))
	if compress {
		opts.Compression = jose.DEFLATE
	}
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.DIRECT, Key: key}, opts)
	if err != nil {
		return "", wrapErr(CodeInvalidArgument, err, "creating encrypter")
	}
	obj, err := enc.Encrypt(plaintext)
	if err != nil {
		return "", wrapErr(CodeInvalidArgument, err, "encrypting")
	}
	return obj.CompactSerialize()
}

// Decrypt decrypts a compact JWE made for a link. alg must be "dir" and enc
// "A256GCM" (pinned; anything else is CodeDecryptFailed); zip may be absent
// or "DEF", and inflation is bounded by go-jose (at most max(250 kB, 10× the
// compressed size)), so a deflate bomb fails with CodeDecryptFailed. The cty
// header is returned as contentType; it is "" when absent (the HL7 demo
// files lack it), and the caller decides what the content is.
func Decrypt(key []byte, jwe string) (contentType string, plaintext []byte, err error) {
	if len(key) != KeySize {
		return "", nil, newErr(CodeInvalidArgument, "key must be %d bytes, got %d", KeySize, len(key))
	}
	if len(jwe) > MaxJWELen {
		return "", nil, newErr(CodeTooLarge, "JWE of %d bytes exceeds %d", len(jwe), MaxJWELen)
	}
	jwe = strings.TrimSpace(jwe)
	if strings.Count(jwe, ".") != 4 {
		return "", nil, newErr(CodeDecryptFailed, "not a compact JWE (need five parts)")
	}
	if i := strings.IndexByte(jwe, '.'); jwe[i+1] != '.' {
		return "", nil, newErr(CodeDecryptFailed, "encrypted key must be empty for alg dir")
	}
	obj, err := jose.ParseEncryptedCompact(jwe, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return "", nil, wrapErr(CodeDecryptFailed, err, "parsing JWE")
	}
	if v, ok := obj.Header.ExtraHeaders[jose.HeaderContentType]; ok {
		s, ok := v.(string)
		if !ok {
			return "", nil, newErr(CodeDecryptFailed, "cty header is not a string")
		}
		contentType = s
	}
	if z, ok := obj.Header.ExtraHeaders["zip"]; ok && z != "DEF" {
		return "", nil, newErr(CodeDecryptFailed, "zip %v not supported", z)
	}
	pt, err := obj.Decrypt(key)
	if err != nil {
		return "", nil, wrapErr(CodeDecryptFailed, err, "decrypting JWE")
	}
	return contentType, pt, nil
}
