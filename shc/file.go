package shc

import (
	"bytes"
	"encoding/json"
	"io"
)

// FileMediaType and FileExtension describe downloadable card files (FILE-1).
const (
	FileMediaType = "application/smart-health-card"
	FileExtension = ".smart-health-card"
	maxFileBytes  = 16 << 20
	maxFileCards  = 1000
)

// File is the content of a .smart-health-card file (FILE-2).
type File struct {
	VerifiableCredential []string `json:"verifiableCredential"`
}

// ReadFile parses a .smart-health-card file and returns its JWS strings,
// each an independent card (FILE-3). Input is capped at 16 MiB and 1000 cards.
func ReadFile(r io.Reader) ([]string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileBytes+1))
	if err != nil {
		return nil, wrap(CodeMalformedInput, "cannot read card file", err)
	}
	if len(data) > maxFileBytes {
		return nil, errorf(CodePayloadTooLarge, "card file exceeds %d bytes", maxFileBytes)
	}
	return ParseFile(data)
}

// ParseFile parses the bytes of a .smart-health-card file.
func ParseFile(data []byte) ([]string, error) {
	var f struct {
		VerifiableCredential *[]string `json:"verifiableCredential"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(data), &f); err != nil {
		return nil, wrap(CodeMalformedInput, `not a card file: want {"verifiableCredential":["<JWS>",...]} (FILE-2)`, err)
	}
	if f.VerifiableCredential == nil || len(*f.VerifiableCredential) == 0 {
		return nil, errorf(CodeMalformedInput, "card file has no verifiableCredential entries (FILE-2)")
	}
	if len(*f.VerifiableCredential) > maxFileCards {
		return nil, errorf(CodePayloadTooLarge, "card file holds %d cards, more than %d", len(*f.VerifiableCredential), maxFileCards)
	}
	return *f.VerifiableCredential, nil
}

// WriteFile writes a .smart-health-card file holding the given cards.
func WriteFile(w io.Writer, jws ...string) error {
	b, err := MarshalFile(jws...)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// MarshalFile returns the bytes of a .smart-health-card file.
func MarshalFile(jws ...string) ([]byte, error) {
	if len(jws) == 0 {
		return nil, errorf(CodeMalformedInput, "a card file needs at least one card (FILE-2)")
	}
	return json.Marshal(File{VerifiableCredential: jws})
}
