package jsonlite

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// DecodeExact decodes the JSON object b into the struct v points to, for API
// request bodies. b is read by Parse first, so every strict rule holds at
// every depth (no repeated, escaped or case-folding member names, UTF-8,
// nothing after the value); then every top-level member name must equal one
// of the struct's json names exactly. Only then does encoding/json fill v:
// with names exact and unique, its case-insensitive matching and
// last-member-wins rule cannot pick a member another reader would not.
//
// # Security considerations
//
// encoding/json alone would read {"PATIENTID": …} into PatientID and let a
// repeated key win silently: a parser differential between the caller and
// this service. DecodeExact refuses both, and unknown members too.
func DecodeExact(b []byte, v any) error {
	names, err := jsonNames(v)
	if err != nil {
		return err
	}
	tree, err := Parse(b, 0)
	if err != nil {
		return err
	}
	if tree.Kind != '{' {
		return errors.New("not a JSON object")
	}
	for _, n := range tree.Names {
		if !names[n] {
			return fmt.Errorf("unknown member %.64q (names are matched exactly)", n)
		}
	}
	return json.Unmarshal(b, v)
}

// jsonNames returns the json names of the exported fields of the struct v
// points to.
func jsonNames(v any) (map[string]bool, error) {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil, errors.New("jsonlite: DecodeExact needs a pointer to a struct")
	}
	t = t.Elem()
	names := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names[name] = true
	}
	return names, nil
}
