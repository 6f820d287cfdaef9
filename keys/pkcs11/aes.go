package pkcs11

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"

	"github.com/ThalesGroup/crypto11"

	"github.com/healthcards/healthcards/keys"
)

// AESKey is an AES-256 secret key held by the token, for wrapping data keys
// (a key-encryption key). Its value never leaves the token.
type AESKey struct {
	k     *crypto11.SecretKey
	label string
}

// AEAD returns AES-GCM computed on the token (CKM_AES_GCM). Callers pass a
// 12-byte nonce; the token must accept caller-supplied IVs (SoftHSM2 and
// most HSMs do). Seal panics if the token fails, as crypto11 does: callers
// that must not panic recover (issuer/keydb does).
func (a *AESKey) AEAD() (cipher.AEAD, error) {
	g, err := a.k.NewGCM()
	if err != nil {
		return nil, tokenErr("AES-GCM on the token", err)
	}
	return g, nil
}

// String names the key by label.
func (a *AESKey) String() string { return "pkcs11.AESKey{label:" + a.label + "}" }

// FindAESKey returns the AES key labelled label. It fails with
// keys.ErrKeyNotFound when there is none, keys.ErrAmbiguousKey when several
// share the label, and keys.ErrUnsupportedKey unless it is a 256-bit AES
// key that is sensitive and not extractable.
func (t *Token) FindAESKey(label string) (*AESKey, error) {
	if label == "" {
		return nil, &keys.Error{Code: keys.CodeKeyNotFound, Msg: "empty key label"}
	}
	found, err := t.ctx.FindKeys(nil, []byte(label))
	if err != nil {
		return nil, tokenErr("searching secret keys", err)
	}
	switch len(found) {
	case 0:
		return nil, &keys.Error{Code: keys.CodeKeyNotFound, Msg: fmt.Sprintf("no secret key labelled %q on the token", label)}
	case 1:
	default:
		return nil, &keys.Error{Code: keys.CodeAmbiguousKey, Msg: fmt.Sprintf("%d secret keys are labelled %q", len(found), label)}
	}
	k := found[0]
	if err := t.checkAES(k, label); err != nil {
		return nil, err
	}
	return &AESKey{k: k, label: label}, nil
}

// checkAES refuses anything but a sensitive, non-extractable AES-256 key.
func (t *Token) checkAES(k *crypto11.SecretKey, label string) error {
	bad := func(why string) error {
		return &keys.Error{Code: keys.CodeUnsupportedKey, Msg: fmt.Sprintf("secret key %q %s", label, why)}
	}
	if k.Cipher != crypto11.CipherAES {
		return bad("is not an AES key")
	}
	attrs, err := t.ctx.GetAttributes(k, []crypto11.AttributeType{crypto11.CkaValueLen, crypto11.CkaExtractable, crypto11.CkaSensitive})
	if err != nil {
		return tokenErr("reading key attributes", err)
	}
	if a := attrs[crypto11.CkaValueLen]; a == nil || ulong(a.Value) != 32 {
		return bad("is not 256 bits")
	}
	if a := attrs[crypto11.CkaExtractable]; a == nil || len(a.Value) != 1 || a.Value[0] != 0 {
		return bad("is extractable; a KEK must never leave the token")
	}
	if a := attrs[crypto11.CkaSensitive]; a == nil || len(a.Value) != 1 || a.Value[0] == 0 {
		return bad("is not sensitive")
	}
	return nil
}

func ulong(b []byte) uint64 {
	switch len(b) {
	case 8:
		return binary.NativeEndian.Uint64(b)
	case 4:
		return uint64(binary.NativeEndian.Uint32(b))
	}
	return 0
}

// FindOrGenerateAESKey returns the AES key labelled label, generating a
// new AES-256 key on the token (CKA_SENSITIVE, not CKA_EXTRACTABLE) when
// there is none. created reports whether a key was generated.
func (t *Token) FindOrGenerateAESKey(label string) (k *AESKey, created bool, err error) {
	k, err = t.FindAESKey(label)
	if keys.CodeOf(err) != keys.CodeKeyNotFound || label == "" {
		return k, false, err
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, false, tokenErr("random key id", err)
	}
	sk, err := t.ctx.GenerateSecretKeyWithLabel(id, []byte(label), 256, crypto11.CipherAES)
	if err != nil {
		return nil, false, tokenErr("generating AES-256 key", err)
	}
	if err := t.checkAES(sk, label); err != nil {
		return nil, false, err
	}
	return &AESKey{k: sk, label: label}, true, nil
}
