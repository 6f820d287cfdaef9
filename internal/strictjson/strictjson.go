// Package strictjson decodes API request bodies with member names matched
// exactly. encoding/json matches object keys to struct fields
// case-insensitively and lets a repeated key win silently, so
// {"PATIENTID": …} fills PatientID and {"rid":"a","rid":"b"} reads "b";
// Decode refuses both (issue 10), as well as unknown members and data after
// the value.
//
// # Security considerations
//
// Only the top-level object's member names are checked; nested values are
// decoded by encoding/json (or kept raw with json.RawMessage). Request
// types decoded here keep their nested structure raw or flat.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Decode decodes the JSON object b into the struct that v points to. Every
// member name must equal a field's json name exactly, at most once; unknown
// members and trailing data are errors.
func Decode(b []byte, v any) error {
	names, err := fieldNames(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("not a JSON object")
	}
	seen := make(map[string]bool, len(names))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		if !names[name] {
			return fmt.Errorf("unknown member %.64q (names are matched exactly)", name)
		}
		if seen[name] {
			return fmt.Errorf("member %q appears twice", name)
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	d2 := json.NewDecoder(bytes.NewReader(b))
	d2.DisallowUnknownFields()
	return d2.Decode(v)
}

func fieldNames(v any) (map[string]bool, error) {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil, errors.New("strictjson: v must point to a struct")
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
