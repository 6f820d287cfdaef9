package verifier

// Summary is a human-readable digest of a verified FHIR bundle: who the
// card is about and what it attests. It is derived from the signed bundle
// only; codes the package does not know are shown as their code.
type Summary struct {
	Patient       *Patient       `json:"patient,omitempty"`
	Immunizations []Immunization `json:"immunizations,omitempty"`
	LabResults    []LabResult    `json:"labResults,omitempty"`
	// Other counts the bundle's remaining resources by resourceType.
	Other map[string]int `json:"other,omitempty"`
}

// Patient is the subject of the card.
type Patient struct {
	Name      string `json:"name"`
	BirthDate string `json:"birthDate,omitempty"`
}

// Coding is a code with its system and, when known, a readable name.
type Coding struct {
	System string `json:"system,omitempty"`
	Code   string `json:"code"`
	Name   string `json:"name,omitempty"` // from this package's small tables; empty when unknown
}

// Immunization is one dose.
type Immunization struct {
	Vaccine   Coding `json:"vaccine"`
	Date      string `json:"date,omitempty"` // occurrenceDateTime (or occurrenceString)
	Status    string `json:"status,omitempty"`
	Lot       string `json:"lotNumber,omitempty"`
	Performer string `json:"performer,omitempty"`
}

// LabResult is one Observation.
type LabResult struct {
	Test      Coding `json:"test"`
	Value     string `json:"value,omitempty"` // valueCodeableConcept (named), valueQuantity or valueString
	Date      string `json:"date,omitempty"`  // effectiveDateTime
	Status    string `json:"status,omitempty"`
	Performer string `json:"performer,omitempty"`
}
