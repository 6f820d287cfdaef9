package shc

// Limits bound the work that parsing one untrusted card may cause.
type Limits struct {
	// MaxJWSBytes caps the compact JWS text. Zero means DefaultMaxJWSBytes.
	MaxJWSBytes int
	// MaxPayloadBytes caps the inflated payload; inflation stops reading
	// once it is exceeded. Zero means DefaultMaxPayloadBytes.
	MaxPayloadBytes int
}

// Default limits. The largest official payload inflates to about 30 KB and
// the largest official JWS is about 3.3 KB; a full IPS document card for file
// or link delivery is larger, hence the headroom.
const (
	DefaultMaxJWSBytes     = 512 << 10 // 512 KiB
	DefaultMaxPayloadBytes = 4 << 20   // 4 MiB
	maxHeaderBytes         = 1024
	maxChunks              = 99 // chunk ordinals in shc:/C/N/ (QR-5)
	maxQRTextBytes         = 8 << 20
	maxJSONDepth           = 128 // nesting accepted in claims and bundles (signed or minified)
)

func (l Limits) jws() int {
	if l.MaxJWSBytes > 0 {
		return l.MaxJWSBytes
	}
	return DefaultMaxJWSBytes
}

func (l Limits) payload() int {
	if l.MaxPayloadBytes > 0 {
		return l.MaxPayloadBytes
	}
	return DefaultMaxPayloadBytes
}
