package identitytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"

	"github.com/fxamacker/cbor/v2"
	"github.com/go-webauthn/webauthn/protocol"
)

// Authenticator holds passkeys for one relying party and origin.
type Authenticator struct {
	RPID, Origin string
	keys         map[string]*passkey // by credential id (base64url)
}

type passkey struct {
	key    *ecdsa.PrivateKey
	handle []byte
	count  uint32
}

// New returns an empty authenticator.
func New(rpID, origin string) *Authenticator {
	return &Authenticator{RPID: rpID, Origin: origin, keys: map[string]*passkey{}}
}

var b64 = base64.RawURLEncoding.EncodeToString

func (a *Authenticator) clientData(typ string, challenge []byte) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": b64(challenge), "origin": a.Origin, "crossOrigin": false})
	return b
}

// Create answers creation options: it makes a key and returns the JSON
// body a browser would post (PublicKeyCredential with attestationObject).
func (a *Authenticator) Create(opts *protocol.CredentialCreation) []byte {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	var handle []byte
	switch h := opts.Response.User.ID.(type) {
	case protocol.URLEncodedBase64:
		handle = h
	case []byte:
		handle = h
	case string: // options that went through JSON
		handle, _ = base64.RawURLEncoding.DecodeString(h)
	}
	a.keys[b64(id)] = &passkey{key: k, handle: handle}
	pub, _ := k.PublicKey.ECDH()
	raw := pub.Bytes() // 0x04 || X || Y
	cose, _ := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: raw[1:33], -3: raw[33:65]})
	rp := sha256.Sum256([]byte(a.RPID))
	auth := append([]byte{}, rp[:]...)
	auth = append(auth, 0x01|0x04|0x40) // UP, UV, AT
	auth = binary.BigEndian.AppendUint32(auth, 0)
	auth = append(auth, make([]byte, 16)...) // AAGUID
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(id)))
	auth = append(auth, id...)
	auth = append(auth, cose...)
	att, _ := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	body, _ := json.Marshal(map[string]any{
		"id": b64(id), "rawId": b64(id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64(a.clientData("webauthn.create", opts.Response.Challenge)), "attestationObject": b64(att)},
	})
	return body
}

// Get answers request options with the first passkey it holds (or the one
// allowed), returning the JSON body a browser would post.
func (a *Authenticator) Get(opts *protocol.CredentialAssertion) []byte {
	var id string
	var pk *passkey
	for k, v := range a.keys {
		id, pk = k, v
		break
	}
	if pk == nil {
		return []byte(`{}`)
	}
	pk.count++
	rp := sha256.Sum256([]byte(a.RPID))
	auth := append([]byte{}, rp[:]...)
	auth = append(auth, 0x01|0x04)
	auth = binary.BigEndian.AppendUint32(auth, pk.count)
	cd := a.clientData("webauthn.get", opts.Response.Challenge)
	cdh := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, auth...), cdh[:]...))
	sig, _ := ecdsa.SignASN1(rand.Reader, pk.key, digest[:])
	body, _ := json.Marshal(map[string]any{
		"id": id, "rawId": id, "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64(cd), "authenticatorData": b64(auth), "signature": b64(sig), "userHandle": b64(pk.handle)},
	})
	return body
}

// Forget drops every passkey (a lost phone).
func (a *Authenticator) Forget() { a.keys = map[string]*passkey{} }

// Impersonate gives every passkey of a the user handle of victim's
// passkey: a then presents its own credentials as victim's account (user
// handles are not secret), which a relying party must refuse.
func (a *Authenticator) Impersonate(victim *Authenticator) {
	for _, v := range victim.keys {
		for _, k := range a.keys {
			k.handle = append([]byte(nil), v.handle...)
		}
		return
	}
}
