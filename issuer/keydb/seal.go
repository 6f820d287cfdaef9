package keydb

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
)

// KEKSize is the size of a key-encryption key: 256 bits (AES-256).
const KEKSize = 32

// KEK is a key-encryption key. It never enters the database: the database
// holds only data keys wrapped under it and a short fingerprint (the first
// 8 bytes of SHA-256 over a label and the key) that tells a wrong KEK from
// damaged data.
type KEK struct {
	key [KEKSize]byte
	tok cipher.AEAD // a token's AES-256-GCM (NewTokenKEK); nil for a key in memory
	id  [8]byte
}

// String never shows the key.
func (k *KEK) String() string {
	return "keydb.KEK(" + base64.RawURLEncoding.EncodeToString(k.id[:]) + ")"
}

// NewKEK wraps 32 bytes as a KEK (the bytes are copied).
func NewKEK(b []byte) (*KEK, error) {
	if len(b) != KEKSize {
		return nil, newErr(CodeBadKEK, fmt.Sprintf("a KEK is %d bytes, got %d", KEKSize, len(b)), nil)
	}
	k := &KEK{}
	copy(k.key[:], b)
	h := sha256.Sum256(append([]byte("healthcards keydb kek id v1\x00"), b...))
	copy(k.id[:], h[:8])
	return k, nil
}

// tokenCheckNonce and tokenCheckAAD make a token KEK's fingerprint: the
// GCM tag of an empty message under this one fixed nonce, never used to
// seal anything else (sealed values take random nonces).
var (
	tokenCheckNonce = []byte("hc kek check")
	tokenCheckAAD   = []byte("healthcards keydb token kek check v1")
)

// NewTokenKEK makes a KEK of an AES-256-GCM computed by a PKCS#11 token
// (keys/pkcs11 AESKey.AEAD): the data keys are encrypted and decrypted on
// the token (CKM_AES_GCM) and the KEK itself never enters this process.
// Its fingerprint is derived from a GCM tag the token computes over a
// fixed input, so two stores on the same token key agree and another key
// is told apart (CodeWrongKEK) before anything is sealed.
func NewTokenKEK(a cipher.AEAD) (*KEK, error) {
	if a == nil {
		return nil, newErr(CodeBadKEK, "no token key", nil)
	}
	tag, err := tokenSeal(a, tokenCheckNonce, nil, tokenCheckAAD)
	if err != nil {
		return nil, newErr(CodeBadKEK, "the token key does not compute AES-GCM", err)
	}
	if len(tag) != 16 {
		return nil, newErr(CodeBadKEK, "the token key's AES-GCM tag is not 16 bytes", nil)
	}
	h := sha256.Sum256(append([]byte("healthcards keydb token kek id v1\x00"), tag...))
	k := &KEK{tok: a}
	copy(k.id[:], h[:8])
	return k, nil
}

// tokenSeal calls a token's Seal, turning its panic (crypto11 panics when
// the token fails) into an error.
func tokenSeal(a cipher.AEAD, nonce, plain, aad []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("token: %v", r)
		}
	}()
	return a.Seal(nil, nonce, plain, aad), nil
}

// maxKEKFile bounds a KEK file read.
const maxKEKFile = 4096

// LoadKEKFile reads a KEK file: 32 random bytes in base64 (standard or URL
// alphabet, padding optional) on one line, as GenerateKEKFile writes. A
// file that group or others may read or write is refused.
func LoadKEKFile(path string) (*KEK, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, newErr(CodeBadKEK, "--kek-file", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, newErr(CodeBadKEK, "--kek-file", err)
	}
	if !st.Mode().IsRegular() {
		return nil, newErr(CodeBadKEK, fmt.Sprintf("--kek-file %s is not a regular file", path), nil)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, newErr(CodeBadKEK, fmt.Sprintf("--kek-file %s is open to group or others (mode %v); chmod 600 it", path, st.Mode().Perm()), nil)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKEKFile+1))
	if err != nil {
		return nil, newErr(CodeBadKEK, "--kek-file", err)
	}
	defer clear(b)
	if len(b) > maxKEKFile {
		return nil, newErr(CodeBadKEK, fmt.Sprintf("--kek-file %s is too large", path), nil)
	}
	s := bytes.TrimRight(bytes.TrimSpace(b), "=")
	raw := make([]byte, base64.RawURLEncoding.DecodedLen(len(s)))
	defer clear(raw)
	s = bytes.Map(func(r rune) rune {
		switch r {
		case '+':
			return '-'
		case '/':
			return '_'
		}
		return r
	}, s)
	n, err := base64.RawURLEncoding.Decode(raw, s)
	if err != nil || n != KEKSize {
		return nil, newErr(CodeBadKEK, fmt.Sprintf("--kek-file %s must hold %d random bytes in base64 (make one with: umask 077; head -c 32 /dev/urandom | base64 > FILE)", path, KEKSize), nil)
	}
	return NewKEK(raw[:n])
}

// GenerateKEKFile writes a new random KEK to path (mode 0600), refusing to
// overwrite an existing file.
func GenerateKEKFile(path string) error {
	b := make([]byte, KEKSize)
	defer clear(b)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return newErr(CodeBadKEK, "writing the KEK file", err)
	}
	if _, err := f.WriteString(base64.RawURLEncoding.EncodeToString(b) + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Sealed layout (all AES-256-GCM):
//
//	"K1" | kek id (8) | nonce1 (12) | GCM_KEK(dek, aad) (32+16) | nonce2 (12) | GCM_dek(plaintext, aad)
//
// A fresh 256-bit data key (dek) per sealed value; aad binds the value to
// its row ("key:<kid>" or "secret:<name>"), so a sealed value moved to
// another row does not open.
const (
	sealMagic    = "K1"
	sealOverhead = 2 + 8 + 12 + KEKSize + 16 + 12 + 16
	maxSealed    = 64 << 10
)

func gcm(key []byte) cipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // key sizes are fixed above
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return a
}

// seal envelope-encrypts plaintext for the row named by aad.
func (k *KEK) seal(plaintext []byte, aad string) ([]byte, error) {
	dek := make([]byte, KEKSize)
	defer clear(dek)
	n1, n2 := make([]byte, 12), make([]byte, 12)
	for _, b := range [][]byte{dek, n1, n2} {
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
	}
	out := make([]byte, 0, sealOverhead+len(plaintext))
	out = append(out, sealMagic...)
	out = append(out, k.id[:]...)
	out = append(out, n1...)
	if k.tok != nil {
		w, err := tokenSeal(k.tok, n1, dek, []byte("dek|"+aad))
		if err != nil {
			return nil, newErr(CodeBadKEK, "sealing the data key for "+aad+" on the token", err)
		}
		if len(w) != KEKSize+16 {
			return nil, newErr(CodeBadKEK, "the token returned a wrapped data key of the wrong size", nil)
		}
		out = append(out, w...)
	} else {
		out = gcm(k.key[:]).Seal(out, n1, dek, []byte("dek|"+aad))
	}
	out = append(out, n2...)
	out = gcm(dek).Seal(out, n2, plaintext, []byte("data|"+aad))
	return out, nil
}

// open reverses seal. A value sealed under another KEK is CodeWrongKEK; a
// damaged or moved one is CodeSealBroken. The caller clears the result.
func (k *KEK) open(sealed []byte, aad string) ([]byte, error) {
	if len(sealed) < sealOverhead || len(sealed) > maxSealed || string(sealed[:2]) != sealMagic {
		return nil, newErr(CodeSealBroken, "sealed value for "+aad+" is malformed", nil)
	}
	p := sealed[2:]
	if !bytes.Equal(p[:8], k.id[:]) {
		return nil, newErr(CodeWrongKEK, "the value for "+aad+" was sealed under another KEK (check --kek-file or --kek-pkcs11-key)", nil)
	}
	p = p[8:]
	n1, p := p[:12], p[12:]
	wrapped, p := p[:KEKSize+16], p[KEKSize+16:]
	var dek []byte
	var err error
	if k.tok != nil {
		dek, err = k.tok.Open(nil, n1, wrapped, []byte("dek|"+aad))
		if err == nil && len(dek) != KEKSize {
			clear(dek)
			err = errors.New("data key of the wrong size")
		}
	} else {
		dek, err = gcm(k.key[:]).Open(nil, n1, wrapped, []byte("dek|"+aad))
	}
	if err != nil {
		return nil, newErr(CodeSealBroken, "the data key for "+aad+" does not open", nil)
	}
	defer clear(dek)
	n2, ct := p[:12], p[12:]
	plain, err := gcm(dek).Open(nil, n2, ct, []byte("data|"+aad))
	if err != nil {
		return nil, newErr(CodeSealBroken, "the value for "+aad+" does not open", nil)
	}
	return plain, nil
}

var errClosed = errors.New("keydb: closed")
