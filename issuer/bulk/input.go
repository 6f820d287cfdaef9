package bulk

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/healthcards/healthcards/issuer"
)

// Input bounds.
const (
	// MaxRecordBytes caps one NDJSON line (one FHIR resource).
	MaxRecordBytes = 1 << 20
	// MaxInputFiles caps the NDJSON files of one batch.
	MaxInputFiles = 1000
	// MaxInputBytes caps the uncompressed size of one input file (a ZIP
	// entry is read at most this far: no zip bombs).
	MaxInputBytes = 64 << 30
)

// inputFile is one NDJSON file of the input.
type inputFile struct {
	name string
	open func() (io.ReadCloser, error)
}

// listInput lists the *.ndjson files of a directory or a ZIP archive,
// sorted by name.
func listInput(path string) (files []inputFile, closeFn func() error, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, errf(CodeInvalidInput, "input %s: %v", path, err)
	}
	if fi.IsDir() {
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, nil, errf(CodeInvalidInput, "input %s: %v", path, err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".ndjson") {
				p := filepath.Join(path, e.Name())
				files = append(files, inputFile{name: e.Name(), open: func() (io.ReadCloser, error) { return os.Open(p) }})
			}
		}
		closeFn = func() error { return nil }
	} else {
		zr, err := zip.OpenReader(path)
		if err != nil {
			return nil, nil, errf(CodeInvalidInput, "input %s is neither a directory nor a ZIP archive: %v", path, err)
		}
		for _, f := range zr.File {
			if f.FileInfo().IsDir() || !strings.HasSuffix(f.Name, ".ndjson") {
				continue
			}
			f := f
			files = append(files, inputFile{name: filepath.Base(f.Name), open: func() (io.ReadCloser, error) { return f.Open() }})
		}
		closeFn = zr.Close
	}
	if len(files) == 0 {
		closeFn()
		return nil, nil, errf(CodeInvalidInput, "input %s holds no .ndjson files", path)
	}
	if len(files) > MaxInputFiles {
		closeFn()
		return nil, nil, errf(CodeInvalidInput, "input %s holds %d .ndjson files; at most %d", path, len(files), MaxInputFiles)
	}
	slices.SortFunc(files, func(a, b inputFile) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(files); i++ {
		if files[i].name == files[i-1].name {
			closeFn()
			return nil, nil, errf(CodeInvalidInput, "input %s holds two files named %s", path, files[i].name)
		}
	}
	return files, closeFn, nil
}

// record is what indexing reads of one resource.
type record struct {
	ResourceType string     `json:"resourceType"`
	ID           string     `json:"id"`
	Subject      *reference `json:"subject"`
	Patient      *reference `json:"patient"`
}

type reference struct {
	Reference string `json:"reference"`
}

// load reads every input file into the index. Bad records become record
// errors; only I/O and index failures stop it.
func load(ctx context.Context, ix *index, files []inputFile, progress func(n int)) error {
	l := &loader{ctx: ctx, ix: ix}
	defer l.rollback()
	n := 0
	for _, f := range files {
		rc, err := f.open()
		if err != nil {
			return fmt.Errorf("bulk: opening %s: %w", f.name, err)
		}
		err = loadFile(ctx, l, f.name, io.LimitReader(rc, MaxInputBytes), func() {
			n++
			if progress != nil && n%1000 == 0 {
				progress(n)
			}
		})
		rc.Close()
		if err != nil {
			return err
		}
	}
	return l.flush()
}

func loadFile(ctx context.Context, l *loader, name string, r io.Reader, tick func()) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	for lineNo := 1; ; lineNo++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		line = line[:0]
		tooLong := false
		var err error
		for {
			var frag []byte
			frag, err = br.ReadSlice('\n')
			if len(line)+len(frag) > MaxRecordBytes+1 {
				tooLong = true
			} else {
				line = append(line, frag...)
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("bulk: reading %s: %w", name, err)
		}
		key := fmt.Sprintf("%s:%d", name, lineNo)
		if tooLong {
			if e := l.recordError(key, CodeTooLarge, fmt.Sprintf("the record is over %d bytes", MaxRecordBytes)); e != nil {
				return e
			}
		} else if rec := bytes.TrimSpace(line); len(rec) > 0 {
			tick()
			if e := loadRecord(l, key, rec); e != nil {
				return e
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// loadRecord indexes one resource. Only index failures are returned.
func loadRecord(l *loader, key string, raw []byte) error {
	var r record
	if err := json.Unmarshal(raw, &r); err != nil {
		return l.recordError(key, CodeInvalidRecord, "the line is not a JSON object (FHIR resource)")
	}
	raw = bytes.Clone(raw)
	switch {
	case r.ResourceType == "":
		return l.recordError(key, CodeInvalidRecord, "the resource has no resourceType")
	case !validID(r.ID):
		return l.recordError(key, CodeInvalidRecord, fmt.Sprintf("%s has no valid id ([A-Za-z0-9.-]{1,64}); bulk references are resolved by id", r.ResourceType))
	case r.ResourceType == issuer.TypePatient:
		return l.patient(r.ID, key, raw)
	case r.ResourceType == issuer.TypeObservation, r.ResourceType == issuer.TypeDiagnosticReport, r.ResourceType == issuer.TypeImmunization:
		ref, field := r.Subject, "subject"
		if r.ResourceType == issuer.TypeImmunization {
			ref, field = r.Patient, "patient"
		}
		pid, ok := patientRef(ref)
		if !ok {
			return l.recordError(key, CodeInvalidRecord, fmt.Sprintf("%s/%s.%s must reference a Patient (Patient/id)", r.ResourceType, r.ID, field))
		}
		return l.resource(pid, r.ResourceType, r.ID, raw)
	case slices.Contains(issuer.SupportingTypes, r.ResourceType):
		fresh, err := l.supporting(r.ResourceType, r.ID, raw)
		if err != nil {
			return err
		}
		if !fresh {
			return l.recordError(key, CodeDuplicateRecord, fmt.Sprintf("%s/%s appears twice; the first is used", r.ResourceType, r.ID))
		}
		return nil
	}
	return l.recordError(key, issuer.CodeUnsupportedType, fmt.Sprintf("%.64q is not issued; accepted: Patient, Observation, Immunization, DiagnosticReport, and as supporting resources %s",
		r.ResourceType, strings.Join(issuer.SupportingTypes, ", ")))
}

// patientRef returns ID of a "Patient/ID" reference (or of an absolute URL
// ending in it).
func patientRef(r *reference) (string, bool) {
	if r == nil {
		return "", false
	}
	parts := strings.Split(r.Reference, "/")
	if len(parts) < 2 || parts[len(parts)-2] != issuer.TypePatient || !validID(parts[len(parts)-1]) {
		return "", false
	}
	return parts[len(parts)-1], true
}

// validID is a FHIR id: [A-Za-z0-9.-]{1,64}.
func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
