package jsonlite

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

type exactReq struct {
	PatientID string `json:"patientId"`
	Kid       string `json:"kid,omitempty"`
	Skip      string `json:"-"`
}

func TestDecodeExact(t *testing.T) {
	var r exactReq
	if err := DecodeExact([]byte(`{"patientId":"pt-1","kid":"k"}`), &r); err != nil || r.PatientID != "pt-1" || r.Kid != "k" {
		t.Fatalf("exact names: %v %+v", err, r)
	}
	for _, in := range []string{
		`{"PATIENTID":"pt-1"}`,              // case-folded name
		`{"patientid":"pt-1"}`,              // case-folded name
		`{"patientId":"a","patientId":"b"}`, // repeated
		`{"patientId":"a","Skip":"x"}`,      // json:"-" field
		`{"patientId":"a"} {}`,              // trailing data
		`{"patientId":"a","other":1}`,       // unknown
		`["patientId"]`,                     // not an object
		`{"patientId":`,                     // truncated
	} {
		var r exactReq
		if err := DecodeExact([]byte(in), &r); err == nil {
			t.Errorf("%s: accepted", in)
		}
	}
	err := DecodeExact([]byte(`{"PATIENTID":"x"}`), &r)
	if err == nil || !strings.Contains(err.Error(), "exactly") {
		t.Errorf("message: %v", err)
	}
}

// FuzzDecodeExact: whatever DecodeExact accepts, encoding/json (with unknown fields
// refused) decodes to the same value, and every accepted input names each
// member exactly, at most once.
func FuzzDecodeExact(f *testing.F) {
	for _, s := range []string{`{"patientId":"a","kid":"k"}`, `{"PATIENTID":"a"}`, `{"patientId":"a","patientId":"b"}`,
		`{"kid":"\u006b"}`, `{}`, `{"patientId":1}`, `{"patientId":"a"} x`, `{"patientI\u0064":"a"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got exactReq
		if err := DecodeExact(b, &got); err != nil {
			return
		}
		var want exactReq
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("DecodeExact accepted %q, encoding/json refused it: %v", b, err)
		}
		if got != want {
			t.Fatalf("%q: Decode %+v, encoding/json %+v", b, got, want)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		for k := range m {
			if k != "patientId" && k != "kid" {
				t.Fatalf("%q: accepted member %q", b, k)
			}
		}
	})
}
