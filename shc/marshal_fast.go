package shc

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/healthcards/healthcards/internal/jsonlite"
)

// appendPayload appends p as encoding/json marshals it (field order of
// Payload, omitempty exp and rid, no HTML escaping) and reports true, or
// reports false when encoding/json would have to change the bundle
// (white space to compact away, or JSON that jsonlite refuses) or would
// fail (a NaN or infinite NumericDate); the caller then uses
// marshalReference. TestMarshalMatchesReference and FuzzMarshal check the
// bytes against encoding/json.
func appendPayload(b []byte, p *Payload) ([]byte, bool) {
	bundle := p.VC.CredentialSubject.FHIRBundle
	if bundle != nil && !jsonlite.ValidCompact(bundle) {
		return b, false
	}
	if !finite(p.NotBefore) || p.Expires != nil && !finite(*p.Expires) {
		return b, false
	}
	b = append(b, `{"iss":`...)
	b = appendString(b, p.Issuer)
	b = append(b, `,"nbf":`...)
	b = strconv.AppendFloat(b, float64(p.NotBefore), 'f', -1, 64)
	b = append(b, `,"vc":{"type":`...)
	if p.VC.Type == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, t := range p.VC.Type {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, t)
		}
		b = append(b, ']')
	}
	b = append(b, `,"credentialSubject":{"fhirVersion":`...)
	b = appendString(b, p.VC.CredentialSubject.FHIRVersion)
	b = append(b, `,"fhirBundle":`...)
	if bundle == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, bundle...)
	}
	b = append(b, '}')
	if p.VC.RID != "" {
		b = append(b, `,"rid":`...)
		b = appendString(b, p.VC.RID)
	}
	b = append(b, '}')
	if p.Expires != nil {
		b = append(b, `,"exp":`...)
		b = strconv.AppendFloat(b, float64(*p.Expires), 'f', -1, 64)
	}
	return append(b, '}'), true
}

func finite(d NumericDate) bool {
	f := float64(d)
	return !math.IsNaN(f) && !math.IsInf(f, 0)
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does without HTML escaping: '"'
// and '\\' escaped, control characters as \b \f \n \r \t or \u00XX,
// invalid UTF-8 as \ufffd, U+2028 and U+2029 as \u2028 and \u2029,
// everything else (DEL included) as is.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
