package verifier

// Small code tables for the human summary. They name common SARS-CoV-2 and
// influenza vaccines and tests only; any other code is still shown, by its
// code. Names are short readable forms, not the official long names.

const (
	systemCVX    = "http://hl7.org/fhir/sid/cvx"
	systemLOINC  = "http://loinc.org"
	systemSNOMED = "http://snomed.info/sct"
)

// vaccineNames: CVX codes (CDC vaccine administered).
var vaccineNames = map[string]map[string]string{
	systemCVX: {
		"207": "Moderna COVID-19 vaccine",
		"208": "Pfizer-BioNTech COVID-19 vaccine",
		"210": "AstraZeneca COVID-19 vaccine",
		"211": "Novavax COVID-19 vaccine",
		"212": "Janssen (J&J) COVID-19 vaccine",
		"213": "COVID-19 vaccine, unspecified",
		"217": "Pfizer-BioNTech COVID-19 vaccine (12+ years)",
		"218": "Pfizer-BioNTech COVID-19 vaccine (5-11 years)",
		"219": "Pfizer-BioNTech COVID-19 vaccine (6 months-4 years)",
		"221": "Moderna COVID-19 vaccine (booster)",
		"228": "Moderna COVID-19 vaccine (6 months-5 years)",
		"229": "Moderna COVID-19 bivalent vaccine",
		"300": "Pfizer-BioNTech COVID-19 bivalent vaccine",
		"88":  "Influenza vaccine, unspecified",
		"111": "Influenza vaccine, live, intranasal",
		"140": "Influenza vaccine, injectable, preservative free",
		"141": "Influenza vaccine, injectable",
		"149": "Influenza vaccine, live, intranasal, quadrivalent",
		"150": "Influenza vaccine, quadrivalent, preservative free",
		"158": "Influenza vaccine, quadrivalent",
		"171": "Influenza vaccine, cell culture, quadrivalent",
		"185": "Influenza vaccine, recombinant, quadrivalent",
		"197": "Influenza vaccine, high-dose, quadrivalent",
		"205": "Influenza vaccine, adjuvanted, quadrivalent",
	},
}

// labNames: LOINC test codes.
var labNames = map[string]map[string]string{
	systemLOINC: {
		"94500-6": "SARS-CoV-2 RNA (NAA), respiratory specimen",
		"94309-2": "SARS-CoV-2 RNA (NAA), specimen",
		"94759-8": "SARS-CoV-2 RNA (NAA), nasopharynx",
		"95406-5": "SARS-CoV-2 RNA (NAA), nose",
		"94845-5": "SARS-CoV-2 RNA (NAA), saliva",
		"94531-1": "SARS-CoV-2 RNA panel (NAA), respiratory specimen",
		"94558-4": "SARS-CoV-2 antigen (rapid), respiratory specimen",
		"97097-0": "SARS-CoV-2 antigen (rapid), upper respiratory specimen",
		"94563-4": "SARS-CoV-2 IgG antibody, serum or plasma",
		"92142-9": "Influenza A RNA (NAA), respiratory specimen",
		"92141-1": "Influenza B RNA (NAA), respiratory specimen",
		"80382-5": "Influenza A antigen (rapid), upper respiratory specimen",
		"80383-3": "Influenza B antigen (rapid), upper respiratory specimen",
	},
}

// resultNames: SNOMED CT qualitative results.
var resultNames = map[string]map[string]string{
	systemSNOMED: {
		"260373001": "Detected",
		"260415000": "Not detected",
		"10828004":  "Positive",
		"260385009": "Negative",
		"419984006": "Inconclusive",
	},
}
