// Package bundles holds the sample FHIR bundles used by the examples, the
// `shc demo` round trip and the services' development mode.
package bundles

import _ "embed"

// LabCovidPCR is a FHIR R4 collection Bundle with a Patient, the performing
// laboratory and one SARS-CoV-2 PCR Observation (not detected), in the
// un-minified form a lab system would send.
//
//go:embed lab-covid-pcr.json
var LabCovidPCR []byte

// ImmunizationsCOVID is a Bundle with a Patient and two COVID-19 mRNA doses.
//
//go:embed immunizations-covid.json
var ImmunizationsCOVID []byte
