package strictjson

import (
	"strings"
	"testing"
)

type req struct {
	PatientID string `json:"patientId"`
	Kid       string `json:"kid,omitempty"`
	Skip      string `json:"-"`
}

func TestDecode(t *testing.T) {
	var r req
	if err := Decode([]byte(`{"patientId":"pt-1","kid":"k"}`), &r); err != nil || r.PatientID != "pt-1" || r.Kid != "k" {
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
		var r req
		if err := Decode([]byte(in), &r); err == nil {
			t.Errorf("%s: accepted", in)
		}
	}
	err := Decode([]byte(`{"PATIENTID":"x"}`), &r)
	if err == nil || !strings.Contains(err.Error(), "exactly") {
		t.Errorf("message: %v", err)
	}
}
