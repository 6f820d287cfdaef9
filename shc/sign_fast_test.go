package shc

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
)

// HDR-2..5: our go-jose signer (with its reflection-free r||s opaque signer) gives exactly go-jose's
// protected header and go-jose verifies it.
func TestSignerMatchesGoJOSE(t *testing.T) {
	k := newKey(t)
	s, err := NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	opts := (&jose.SignerOptions{}).WithHeader("zip", "DEF").WithHeader("kid", s.KeyID())
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: cryptosigner.Opaque(k)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	p := NewPayload("https://x.example", time.Unix(1700000000, 0), []byte(`{"resourceType":"Bundle"}`))
	claims, _ := p.Marshal()
	obj, err := js.Sign(Deflate(claims))
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := obj.CompactSerialize()
	ours, err := s.Sign(p)
	if err != nil {
		t.Fatal(err)
	}
	rh, rp, _ := cut3(ref)
	oh, op, _ := cut3(ours)
	if oh != rh || op != rp {
		t.Fatalf("header or payload differs from go-jose:\n ours %s.%s\n jose %s.%s", oh, op, rh, rp)
	}
	parsed, err := jose.ParseSigned(ours, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	got, err := parsed.Verify(&k.PublicKey)
	if err != nil {
		t.Fatalf("go-jose does not verify our card: %v", err)
	}
	if !bytes.Equal(got, Deflate(claims)) {
		t.Fatal("go-jose sees another payload")
	}
}

// badSigner returns what a broken token might: an error or junk DER.
type badSigner struct {
	crypto.Signer
	out []byte
	err error
}

func (b badSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { return b.out, b.err }

func TestSignerRefusesBadSignatures(t *testing.T) {
	k := newKey(t)
	p := NewPayload("https://x.example", time.Unix(1700000000, 0), []byte(`{"resourceType":"Bundle"}`))
	good, _ := k.Sign(rand.Reader, make([]byte, 32), crypto.SHA256)
	for name, b := range map[string]badSigner{
		"error":          {Signer: k, err: errors.New("token removed")},
		"empty":          {Signer: k, out: nil},
		"not DER":        {Signer: k, out: []byte("nope")},
		"trailing bytes": {Signer: k, out: append(append([]byte{}, good...), 0)},
		"negative r":     {Signer: k, out: []byte{0x30, 0x06, 0x02, 0x01, 0xff, 0x02, 0x01, 0x01}},
		"zero s":         {Signer: k, out: []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00}},
		"33-byte r":      {Signer: k, out: append([]byte{0x30, 0x26, 0x02, 0x21, 0x01}, append(bytes.Repeat([]byte{1}, 32), 0x02, 0x01, 0x01)...)},
	} {
		s, err := NewSigner(b)
		if err != nil {
			t.Fatal(err)
		}
		jws, err := s.Sign(p)
		if jws != "" || CodeOf(err) != CodeBadKey {
			t.Errorf("%s: %q, %v; want bad_key", name, jws, err)
		}
		if name == "error" && !strings.Contains(err.Error(), "token removed") {
			t.Errorf("signer error not kept: %v", err)
		}
	}
}
