package httpapi

import _ "embed"

// SampleBundle is a small synthetic lab bundle (a patient, a COVID-19
// antigen test and two COVID-19 vaccine doses) for the development page and
// the demo: no real person's data.
//
//go:embed sample-bundle.json
var SampleBundle string
