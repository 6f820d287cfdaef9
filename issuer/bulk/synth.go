package bulk

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/terminology"
)

// SynthOptions configure Generate.
type SynthOptions struct {
	Patients int    // number of well-formed patients
	Seed     uint64 // same seed, same files
	// Broken adds one record or patient of every kind bulk issuing must
	// report without stopping (see BrokenPatients).
	Broken bool
}

// BrokenPatients are the keys Generate writes with SynthOptions.Broken,
// each with the code its result line must carry.
var BrokenPatients = map[string]string{
	"patient/broken-no-patient": string(issuer.CodeMissingPatient),    // Observations for a Patient not in the input
	"patient/broken-dangling":   string(issuer.CodeUnresolvedRef),     // performer names an Organization not in the input
	"patient/broken-codesys":    string(CodeUnknownCodeSystem),        // a test coded in a local code system only
	"patient/broken-too-big":    string(issuer.CodeCardTooLargeForQR), // too many doses for one QR (with QR or PDF output)
}

// BrokenRecords are the lines Generate appends to Observation.ndjson with
// SynthOptions.Broken (after the well-formed ones), and their codes.
var BrokenRecords = []struct{ Line, Code string }{
	{`{"resourceType":"Observation","id":"broken-json",`, string(CodeInvalidRecord)},
	{`{"resourceType":"Condition","id":"broken-type","subject":{"reference":"Patient/p0000001"}}`, string(issuer.CodeUnsupportedType)},
	{`{"resourceType":"Observation","id":"broken-subject","status":"final"}`, string(CodeInvalidRecord)},
}

var (
	givenNames  = []string{"Ana", "Ben", "Chloé", "Dmitri", "Eun-ji", "Fatima", "Gustavo", "Hana", "Ibrahim", "Jo", "Kwame", "Leila", "Mateo", "Nia", "Olga", "Pradeep", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoë"}
	familyNames = []string{"Anderson", "Barros", "Chen", "Dubois", "Ekström", "Fernández", "García", "Hoang", "Ivanova", "Jensen", "Kowalski", "López", "Müller", "Nakamura", "O'Brien", "Patel", "Quispe", "Rossi", "Smith", "Tanaka", "Uddin", "Van der Berg", "Wójcik", "Xu", "Yilmaz", "Zulu"}
	labs        = []string{"Northside Clinical Laboratory", "Harbor Public Health Lab", "Valley Diagnostics", "St. Anne Hospital Lab", "Metro Reference Laboratory"}
)

const (
	snomedDetected    = "260373001"
	snomedNotDetected = "260415000"
)

// Generate writes synthetic FHIR Bulk Data NDJSON (Patient, Organization,
// Observation and Immunization files) for o.Patients patients into dir:
// names, birth dates, COVID-19 and blood-count lab results and COVID-19
// immunizations, coded as real registries code them (LOINC, SNOMED CT,
// CVX). Patient ids are p0000000, p0000001, ... It streams: memory does
// not grow with o.Patients.
func Generate(dir string, o SynthOptions) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x5eed))
	files := map[string]*bufio.Writer{}
	var closers []*os.File
	out := func(name string) *bufio.Writer {
		if w, ok := files[name]; ok {
			return w
		}
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			panic(err) // recovered below
		}
		closers = append(closers, f)
		w := bufio.NewWriterSize(f, 256<<10)
		files[name] = w
		return w
	}
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("bulk: generate: %v", r)
			}
		}()
		emit := func(name string, v any) {
			b, e := json.Marshal(v)
			if e != nil {
				panic(e)
			}
			w := out(name)
			w.Write(b)
			w.WriteByte('\n')
		}
		for i, name := range labs {
			emit("Organization.ndjson", obj{"resourceType": "Organization", "id": fmt.Sprintf("lab-%d", i), "name": name})
		}
		for i := range o.Patients {
			pid := fmt.Sprintf("p%07d", i)
			emit("Patient.ndjson", patient(rng, pid))
			lab := fmt.Sprintf("Organization/lab-%d", rng.IntN(len(labs)))
			day := 1 + rng.IntN(900)
			emit("Observation.ndjson", covidTest(pid+"-pcr", pid, lab, day, rng.IntN(10) == 0))
			if rng.IntN(3) == 0 {
				emit("Observation.ndjson", hemoglobin(pid+"-hgb", pid, lab, day, 11+rng.Float64()*6))
			}
			doses := rng.IntN(4)
			for d := range doses {
				emit("Immunization.ndjson", dose(fmt.Sprintf("%s-imm%d", pid, d), pid, lab, day+d*60, []string{"207", "208", "217", "229"}[rng.IntN(4)], fmt.Sprintf("LOT%05d", rng.IntN(100000))))
			}
		}
		if !o.Broken {
			return
		}
		// No Patient record for these Observations.
		emit("Observation.ndjson", covidTest("broken-no-patient-pcr", "broken-no-patient", "Organization/lab-0", 10, false))
		// A performer that is nowhere in the input.
		emit("Patient.ndjson", patient(rng, "broken-dangling"))
		emit("Observation.ndjson", covidTest("broken-dangling-pcr", "broken-dangling", "Organization/no-such-lab", 10, false))
		// A test coded only in a local code system.
		emit("Patient.ndjson", patient(rng, "broken-codesys"))
		local := covidTest("broken-codesys-pcr", "broken-codesys", "Organization/lab-1", 10, false)
		local["code"] = obj{"coding": []obj{{"system": "http://lab.example.org/local-tests", "code": "PCR-COV"}}}
		emit("Observation.ndjson", local)
		// Sixty doses of one disease: one card, far over one QR.
		emit("Patient.ndjson", patient(rng, "broken-too-big"))
		for d := range 60 {
			emit("Immunization.ndjson", dose(fmt.Sprintf("broken-too-big-imm%d", d), "broken-too-big", "Organization/lab-2", d*7, "208", fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())))
		}
		w := out("Observation.ndjson")
		for _, r := range BrokenRecords {
			w.WriteString(r.Line + "\n")
		}
	}()
	for _, w := range files {
		if e := w.Flush(); e != nil && err == nil {
			err = e
		}
	}
	for _, f := range closers {
		if e := f.Close(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

type obj = map[string]any

func date(day int) string {
	return fmt.Sprintf("2024-%02d-%02d", 1+(day/28)%12, 1+day%28)
}

func patient(rng *rand.Rand, id string) obj {
	return obj{
		"resourceType": "Patient", "id": id,
		"name":      []obj{{"family": familyNames[rng.IntN(len(familyNames))], "given": []string{givenNames[rng.IntN(len(givenNames))]}}},
		"birthDate": fmt.Sprintf("%04d-%02d-%02d", 1935+rng.IntN(85), 1+rng.IntN(12), 1+rng.IntN(28)),
		// Not carried on cards (the issuer narrows the Patient): realistic noise.
		"telecom": []obj{{"system": "phone", "value": fmt.Sprintf("+1-555-%04d", rng.IntN(10000))}},
		"address": []obj{{"city": "Springfield", "postalCode": fmt.Sprintf("%05d", rng.IntN(100000))}},
	}
}

func covidTest(id, pid, lab string, day int, positive bool) obj {
	res := snomedNotDetected
	if positive {
		res = snomedDetected
	}
	return obj{
		"resourceType": "Observation", "id": id, "status": "final",
		"code":                 obj{"coding": []obj{{"system": terminology.SystemLOINC, "code": "94500-6"}}},
		"subject":              obj{"reference": "Patient/" + pid},
		"effectiveDateTime":    date(day),
		"performer":            []obj{{"reference": lab}},
		"valueCodeableConcept": obj{"coding": []obj{{"system": terminology.SystemSNOMED, "code": res}}},
	}
}

func hemoglobin(id, pid, lab string, day int, v float64) obj {
	return obj{
		"resourceType": "Observation", "id": id, "status": "final",
		"code":              obj{"coding": []obj{{"system": terminology.SystemLOINC, "code": "718-7"}}},
		"subject":           obj{"reference": "Patient/" + pid},
		"effectiveDateTime": date(day),
		"performer":         []obj{{"reference": lab}},
		"valueQuantity":     obj{"value": float64(int(v*10)) / 10, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"},
	}
}

func dose(id, pid, lab string, day int, cvx, lot string) obj {
	return obj{
		"resourceType": "Immunization", "id": id, "status": "completed",
		"vaccineCode":        obj{"coding": []obj{{"system": terminology.SystemCVX, "code": cvx}}},
		"patient":            obj{"reference": "Patient/" + pid},
		"occurrenceDateTime": date(day),
		"lotNumber":          lot,
		"performer":          []obj{{"actor": obj{"reference": lab}}},
	}
}
