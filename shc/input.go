package shc

import (
	"bytes"
	"encoding/json"
	"strings"
)

// InputKind names the form a card arrived in.
type InputKind string

// Input kinds recognised by ExtractJWS.
const (
	KindJWS        InputKind = "jws"
	KindQRText     InputKind = "qr-text"
	KindFile       InputKind = "file"
	KindParameters InputKind = "fhir-parameters"
)

// ExtractJWS finds the cards in a textual input and returns their JWS
// strings, in order. It accepts:
//   - a compact JWS;
//   - one or more shc:/ texts separated by white space (legacy chunks in
//     any order are joined; QR-6);
//   - a .smart-health-card file (FILE-2);
//   - a FHIR Parameters response of $health-cards-issue (OP-10).
//
// It does not parse the JWS themselves: call Parse on each.
func ExtractJWS(input []byte) ([]string, InputKind, error) {
	if len(input) > maxFileBytes {
		return nil, "", errorf(CodePayloadTooLarge, "input of %d bytes exceeds %d", len(input), maxFileBytes)
	}
	s := strings.TrimSpace(string(input))
	switch {
	case s == "":
		return nil, "", errorf(CodeMalformedInput, "empty input")
	case strings.HasPrefix(s, "{"):
		return extractJSON([]byte(s))
	case len(s) >= len(QRScheme) && strings.EqualFold(s[:len(QRScheme)], QRScheme):
		jws, err := decodeQRTexts(strings.Fields(s))
		if err != nil {
			return nil, "", err
		}
		return jws, KindQRText, nil
	case strings.Count(s, ".") == 2 && !hasWhitespace(s):
		return []string{s}, KindJWS, nil
	}
	return nil, "", errorf(CodeMalformedInput, "input is not a JWS, shc:/ text, .smart-health-card file or FHIR Parameters")
}

// hasWhitespace reports whether s holds a space, tab, CR or LF: four
// vectorised byte searches, several times cheaper than strings.ContainsAny
// on a kilobyte-long JWS (it runs for every card verified).
func hasWhitespace(s string) bool {
	return strings.IndexByte(s, ' ') >= 0 || strings.IndexByte(s, '\t') >= 0 ||
		strings.IndexByte(s, '\r') >= 0 || strings.IndexByte(s, '\n') >= 0
}

// decodeQRTexts groups shc:/ texts into cards: unchunked texts are cards of
// their own, chunked texts are joined per total N.
func decodeQRTexts(texts []string) ([]string, error) {
	var out []string
	var chunks []string
	for _, t := range texts {
		q, err := ParseQRText(t)
		if err != nil {
			return nil, err
		}
		if q.Total == 1 {
			jws, err := DecodeNumeric(q.Digits)
			if err != nil {
				return nil, err
			}
			out = append(out, jws)
			continue
		}
		chunks = append(chunks, t)
	}
	if len(chunks) > 0 {
		jws, err := DecodeQRText(chunks...)
		if err != nil {
			return nil, err
		}
		out = append(out, jws)
	}
	return out, nil
}

func extractJSON(b []byte) ([]string, InputKind, error) {
	var probe struct {
		ResourceType string          `json:"resourceType"`
		VC           json.RawMessage `json:"verifiableCredential"`
		Parameter    []struct {
			Name        string  `json:"name"`
			ValueString *string `json:"valueString"`
		} `json:"parameter"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, "", wrap(CodeMalformedInput, "input is JSON but not a card file or Parameters", err)
	}
	if probe.ResourceType == "Parameters" {
		var out []string
		for _, p := range probe.Parameter {
			if p.Name == "verifiableCredential" && p.ValueString != nil {
				out = append(out, *p.ValueString)
			}
		}
		if len(out) == 0 {
			return nil, KindParameters, errorf(CodeMalformedInput, "Parameters holds no verifiableCredential (OP-10)")
		}
		return out, KindParameters, nil
	}
	if probe.VC != nil {
		jws, err := ParseFile(bytes.TrimSpace(b))
		return jws, KindFile, err
	}
	return nil, "", errorf(CodeMalformedInput, `JSON input is neither {"verifiableCredential":[...]} nor a FHIR Parameters resource`)
}
