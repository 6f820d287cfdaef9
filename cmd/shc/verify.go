package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/verifier"
)

// verifyEntry is one card in "shc verify --json" output. The field names are
// a stable contract.
type verifyEntry struct {
	Input      string               `json:"input"`
	Valid      bool                 `json:"valid"`
	Verdict    verifier.Verdict     `json:"verdict"`
	Advice     string               `json:"advice"`
	Iss        string               `json:"iss,omitempty"`
	IssuerName string               `json:"issuer_name,omitempty"`
	Kid        string               `json:"kid,omitempty"`
	Nbf        *shc.NumericDate     `json:"nbf,omitempty"`
	Exp        *shc.NumericDate     `json:"exp,omitempty"`
	Errors     []verifier.ErrorInfo `json:"errors"`
	Warnings   []string             `json:"warnings"`
	Summary    *verifier.Summary    `json:"summary,omitempty"`
	FHIRBundle json.RawMessage      `json:"fhirBundle,omitempty"`
}

func runVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", "[--trust FILE|URL]... [--jwks ISS=FILE]... [--at TIME] [--leeway DUR] [--offline] [--json] INPUT...", stderr)
	tf := addTrustFlags(fs)
	at := fs.String("at", "", "verify as of `TIME` (RFC 3339 or Unix seconds) instead of now")
	leeway := fs.Duration("leeway", verifier.DefaultLeeway, "accept an nbf up to `DUR` in the future (clock skew)")
	offline := fs.Bool("offline", false, "fetch nothing: use only --trust files and --jwks key sets")
	bestEffort := fs.Bool("revocation-best-effort", false, "accept a card whose revocation list cannot be fetched (with a warning) instead of failing it")
	revMaxAge := fs.Duration("revocation-max-age", verifier.DefaultRevocationMaxAge, "use a fetched revocation list for at most `DUR` (1s to 24h); matters when verifying many inputs over a long run")
	asJSON := fs.Bool("json", false, "print one JSON entry per card")
	withBundle := fs.Bool("bundle", true, "include the verified FHIR bundle in --json output (--bundle=false leaves it out)")
	inputs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(inputs) == 0 {
		return usagef("verify needs at least one INPUT")
	}
	if !tf.given() {
		return usagef("say whom to trust: --trust, --trust-list or --jwks ISS=FILE (or --any-issuer to only report)")
	}
	opts, err := tf.options()
	if err != nil {
		return err
	}
	opts = append(opts, verifier.WithLeeway(*leeway))
	if *revMaxAge < time.Second || *revMaxAge > verifier.MaxRevocationMaxAge {
		return usagef("--revocation-max-age %v: want 1s to %v", *revMaxAge, verifier.MaxRevocationMaxAge)
	}
	opts = append(opts, verifier.WithRevocationMaxAge(*revMaxAge))
	if *at != "" {
		t, err := parseTime(*at)
		if err != nil {
			return usageError{err.Error()}
		}
		opts = append(opts, verifier.WithClock(func() time.Time { return t }))
	}
	if *offline {
		opts = append(opts, verifier.WithOffline())
	}
	if *bestEffort {
		opts = append(opts, verifier.WithRevocationPolicy(verifier.RevocationBestEffort))
	}
	v, err := verifier.New(opts...)
	if err != nil {
		return usageError{err.Error()}
	}
	for _, w := range v.ConfigWarnings() {
		fmt.Fprintf(stderr, "shc: warning: %s\n", w)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var entries []verifyEntry
	for _, g := range groupInputs(inputs) {
		var results []*verifier.Result
		text, err := g.text()
		if err == nil {
			results, err = v.Verify(ctx, []byte(text))
		}
		if err != nil {
			results = []*verifier.Result{verifier.ErrorResult(err)}
		}
		for _, r := range results {
			e := verifyEntry{
				Input: g.name, Valid: r.Valid, Verdict: r.Verdict, Advice: r.Advice, Iss: r.Issuer, IssuerName: r.IssuerName,
				Kid: r.KeyID, Nbf: r.NotBefore, Exp: r.Expires, Errors: r.Errors, Warnings: r.Warnings, Summary: r.Summary,
			}
			if e.Errors == nil {
				e.Errors = []verifier.ErrorInfo{}
			}
			if e.Warnings == nil {
				e.Warnings = []string{}
			}
			if *withBundle {
				e.FHIRBundle = r.FHIRBundle
			}
			entries = append(entries, e)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(entries); err != nil {
			return err
		}
	} else {
		for _, e := range entries {
			printEntry(stdout, e)
		}
	}
	return verdictExit(entries)
}

// verdictExit turns the worst verdict of entries into the command's
// result: nil (exit 0) when every card verified, errUnableToCheck (exit 3)
// when the worst is unable_to_check, errInvalid (exit 1) otherwise.
func verdictExit(entries []verifyEntry) error {
	worst := verifier.VerdictVerified
	for _, e := range entries {
		if verifier.VerdictRank(e.Verdict) > verifier.VerdictRank(worst) {
			worst = e.Verdict
		}
	}
	switch worst {
	case verifier.VerdictVerified:
		return nil
	case verifier.VerdictUnableToCheck:
		return errUnableToCheck
	}
	return errInvalid
}

func printEntry(w io.Writer, e verifyEntry) {
	mark := map[verifier.Verdict]string{
		verifier.VerdictVerified:      "VERIFIED",
		verifier.VerdictUntrusted:     "ISSUER NOT TRUSTED",
		verifier.VerdictInvalid:       "INVALID",
		verifier.VerdictUnableToCheck: "UNABLE TO CHECK",
	}[e.Verdict]
	fmt.Fprintf(w, "%s: %s\n", e.Input, mark)
	if e.Advice != "" {
		fmt.Fprintf(w, "  advice:  %s\n", e.Advice)
	}
	if e.Iss != "" {
		name := e.Iss
		if e.IssuerName != "" {
			name = e.IssuerName + " (" + e.Iss + ")"
		}
		fmt.Fprintf(w, "  issuer:  %s, key %s\n", name, e.Kid)
	}
	if e.Nbf != nil {
		fmt.Fprintf(w, "  issued:  %s\n", e.Nbf.Time().Format(time.RFC3339))
	}
	if e.Exp != nil {
		fmt.Fprintf(w, "  expires: %s\n", e.Exp.Time().Format(time.RFC3339))
	}
	if s := e.Summary; s != nil {
		if s.Patient != nil {
			fmt.Fprintf(w, "  patient: %s, born %s\n", s.Patient.Name, s.Patient.BirthDate)
		}
		for _, l := range s.LabResults {
			fmt.Fprintf(w, "  lab:     %s\n", labLine(l))
		}
		for _, im := range s.Immunizations {
			name := im.Vaccine.Name
			if name == "" {
				name = "code " + im.Vaccine.Code
			}
			fmt.Fprintf(w, "  vaccine: %s on %s (lot %s)\n", name, im.Date, im.Lot)
		}
	}
	for _, er := range e.Errors {
		fmt.Fprintf(w, "  error:   %s: %s\n", er.Code, er.Message)
	}
	for _, wn := range e.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", wn)
	}
}

func labLine(l verifier.LabResult) string {
	name := l.Test.Name
	if name == "" {
		name = l.Test.System + "|" + l.Test.Code
	}
	return fmt.Sprintf("%s: %s on %s", name, l.Value, l.Date)
}

// inputGroup is one verification: a single input, or the chunk texts that
// together make one card.
type inputGroup struct {
	name  string
	parts []string
}

func (g inputGroup) text() (string, error) {
	var texts []string
	for _, p := range g.parts {
		t, err := inputText(p)
		if err != nil {
			return "", fmt.Errorf("%s: %w", p, err)
		}
		texts = append(texts, t)
	}
	return strings.Join(texts, "\n"), nil
}

// groupInputs keeps inputs in order but gathers legacy chunk texts (from
// files, images or literals) into one group per chunk count, since each
// chunk alone is not a card (QR-6).
func groupInputs(inputs []string) []inputGroup {
	var out []inputGroup
	chunkGroup := map[int]int{} // total N -> index in out
	for _, in := range inputs {
		if total := chunkTotal(in); total > 1 {
			if i, ok := chunkGroup[total]; ok {
				out[i].parts = append(out[i].parts, in)
				out[i].name += "+" + in
				continue
			}
			chunkGroup[total] = len(out)
		}
		out = append(out, inputGroup{name: in, parts: []string{in}})
	}
	return out
}

// chunkTotal returns N for an input holding one shc:/C/N/ chunk, else 0.
func chunkTotal(in string) int {
	t, err := inputText(in)
	if err != nil {
		return 0
	}
	t = strings.TrimSpace(t)
	if strings.ContainsAny(t, " \n") {
		return 0
	}
	q, err := shc.ParseQRText(t)
	if err != nil {
		return 0
	}
	return q.Total
}
