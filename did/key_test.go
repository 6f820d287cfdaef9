package did

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/keys"
)

// P-256 vectors from the W3C CCG did:key spec, test-vectors/nist-curves.json
// (github.com/w3c-ccg/did-method-key).
var w3cP256Vectors = []struct{ did, x, y string }{
	{
		did: "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv",
		x:   "igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns",
		y:   "efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM",
	},
	{
		did: "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
		x:   "fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI",
		y:   "hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU",
	},
}

// Non-P-256 did:keys from the same spec: P-384 (multicodec 0x1201) and
// Ed25519 (0xed).
const (
	w3cP384DID    = "did:key:z82Lm1MpAkeJcix9K8TMiLd5NMAhnwkjjCBeWHXyu3U4oT2MVJJKXkcVBgjGhnLBn2Kaau9"
	w3cEd25519DID = "did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th"
)

func wantCode(t *testing.T, err error, want *Error) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want %s", want.Code)
	}
	if !errors.Is(err, want) {
		t.Fatalf("got %v (code %q), want code %q", err, CodeOf(err), want.Code)
	}
}

func TestParseKey_W3CVectors(t *testing.T) {
	for _, v := range w3cP256Vectors {
		t.Run(v.did, func(t *testing.T) {
			pub, err := ParseKey(v.did)
			if err != nil {
				t.Fatal(err)
			}
			want, err := keys.JWK{Kty: "EC", Crv: "P-256", X: v.x, Y: v.y}.PublicKey()
			if err != nil {
				t.Fatal(err)
			}
			if !pub.Equal(want) {
				t.Fatal("decoded key differs from the vector's JWK")
			}
			if got := KeyFromPublic(want); got != v.did {
				t.Fatalf("KeyFromPublic = %s, want %s", got, v.did)
			}
		})
	}
}

func TestKey_RoundTripRandom(t *testing.T) {
	for i := 0; i < 200; i++ {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		d := KeyFromPublic(&k.PublicKey)
		if !strings.HasPrefix(d, "did:key:zDn") {
			t.Fatalf("P-256 did:key %s should start with zDn", d)
		}
		pub, err := ParseKey(d)
		if err != nil {
			t.Fatal(err)
		}
		if !pub.Equal(&k.PublicKey) {
			t.Fatal("round trip changed the key")
		}
	}
}

// encodeKeyBytes builds a did:key over arbitrary multicodec bytes.
func encodeKeyBytes(b []byte) string { return "did:key:z" + base58Encode(b) }

func TestParseKey_Rejects(t *testing.T) {
	pub, err := ParseKey(w3cP256Vectors[0].did)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := pub.Bytes()
	compressed := append([]byte{0x02 | raw[64]&1}, raw[1:33]...)

	// An x with no y on P-256: x^3 - 3x + b is not a square.
	var offCurve []byte
	for i := 0; i < 1000 && offCurve == nil; i++ {
		cand := make([]byte, 33)
		cand[0] = 2
		cand[32] = byte(i)
		cand[31] = byte(i >> 8)
		if x, _ := elliptic.UnmarshalCompressed(elliptic.P256(), cand); x == nil {
			offCurve = cand
		}
	}
	if offCurve == nil {
		t.Fatal("found no off-curve x")
	}
	xTooBig := append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...)

	tests := []struct {
		name string
		did  string
		want *Error
	}{
		{"P-384 multicodec", w3cP384DID, ErrUnsupportedKey},
		{"Ed25519 multicodec", w3cEd25519DID, ErrUnsupportedKey},
		{"secp256k1 multicodec", encodeKeyBytes(append([]byte{0xe7, 0x01}, compressed...)), ErrUnsupportedKey},
		{"empty key", "did:key:z", ErrMalformedDID},
		{"bad base58 0", "did:key:zDn0erx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv", ErrMalformedDID},
		{"bad base58 l", "did:key:zDnlerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv", ErrMalformedDID},
		{"not base58btc", "did:key:uDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv", ErrMalformedDID},
		{"not did:key", "did:web:example.com", ErrMalformedDID},
		{"fragment", w3cP256Vectors[0].did + "#x", ErrMalformedDID},
		{"uncompressed point", encodeKeyBytes(append([]byte{0x80, 0x24}, raw...)), ErrMalformedDID},
		{"bad point prefix", encodeKeyBytes(append([]byte{0x80, 0x24, 0x05}, raw[1:33]...)), ErrMalformedDID},
		{"short point", encodeKeyBytes(append([]byte{0x80, 0x24}, compressed[:32]...)), ErrMalformedDID},
		{"trailing byte", encodeKeyBytes(append(append([]byte{0x80, 0x24}, compressed...), 0)), ErrMalformedDID},
		{"x not on curve", encodeKeyBytes(append([]byte{0x80, 0x24}, offCurve...)), ErrMalformedDID},
		{"x >= p", encodeKeyBytes(append([]byte{0x80, 0x24}, xTooBig...)), ErrMalformedDID},
		{"too long", "did:key:z" + strings.Repeat("2", 200), ErrMalformedDID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pub, err := ParseKey(tc.did)
			if pub != nil {
				t.Fatal("non-nil key with error")
			}
			wantCode(t, err, tc.want)
		})
	}
}

// Vectors from the IETF base58 draft (draft-msporny-base58).
func TestBase58_Vectors(t *testing.T) {
	tests := []struct{ hex, b58 string }{
		{"", ""},
		{"00", "1"},
		{"0000287fb4cd", "11233QC4"},
		{hex.EncodeToString([]byte("Hello World!")), "2NEpo7TZRRrLZSi2U"},
		{hex.EncodeToString([]byte("The quick brown fox jumps over the lazy dog.")), "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z"},
	}
	for _, tc := range tests {
		b, _ := hex.DecodeString(tc.hex)
		if got := base58Encode(b); got != tc.b58 {
			t.Errorf("encode %s = %q, want %q", tc.hex, got, tc.b58)
		}
		back, ok := base58Decode(tc.b58)
		if !ok || !bytes.Equal(back, b) {
			t.Errorf("decode %q = %x, %v; want %s", tc.b58, back, ok, tc.hex)
		}
	}
	if _, ok := base58Decode("abc0"); ok {
		t.Error("decoded a string with '0'")
	}
}
