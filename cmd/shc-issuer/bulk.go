package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/healthcards/healthcards/issuer/bulk"
	"github.com/healthcards/healthcards/issuer/service"
)

const bulkUsage = `shc-issuer bulk: issue cards for a whole registry or a day of lab results.

Usage:
  shc-issuer bulk issue --in DIR|ZIP --out DIR [flags]
  shc-issuer bulk generate --out DIR --patients N [--seed S] [--broken]

bulk issue reads FHIR Bulk Data NDJSON files (Patient.ndjson, Observation.ndjson,
Immunization.ndjson, Organization.ndjson, ...; a directory or a ZIP of them),
groups the resources by patient, and issues each patient's cards exactly as the
API does (same store, keys and rules). It writes OUT/results.ndjson (one line per
patient or bad record: card ids and files, or an OperationOutcome with a stable
code) and the chosen files under OUT/cards, OUT/qr and OUT/pdf. Bad records never
stop the run. A run that stops (Ctrl-C, a crash, SIGKILL) continues where it was
when started again with the same --batch and --out: no card is issued twice.

  --in DIR|ZIP           the NDJSON input
  --out DIR              output directory (results.ndjson, cards/, qr/, pdf/, .bulk/ state)
  --batch ID             batch id (default: a new one, printed); give it again to resume
  --outputs LIST         comma-separated: card, png, svg, pdf, link (default card). With png,
                         svg or pdf every card must fit one QR code (SIZE-3). link gives each
                         patient a SMART Health Link to its cards, hosted by the service (its
                         link store, --base-url), in results.ndjson and qr/ID-link.png
  --link-passcodes       protect each link with its own 8-digit passcode (in results.ndjson
                         and the PDF)
  --link-expiry D        link lifetime (default 720h, as the API's links)
  --paper a4|letter      PDF page size (default a4)
  --workers N            patients issued in parallel (default: 4 per core)
  --progress-every D     plain progress line interval when stderr is not a terminal (default 10s)
  --cpuprofile FILE      write a CPU profile (go tool pprof) of the run
  --data DIR, --store, --postgres-dsn, --iss, --base-url, --qr-level, --key-passphrase-file,
  --kek-file, --issuer-name  as for serve (the same store, keys and links)

bulk generate writes synthetic input: names, birth dates, COVID-19 and blood
tests, COVID-19 doses, and with --broken one record of every kind that must be
reported (no Patient, a dangling reference, an unknown code system, a card too
big for one QR, bad lines).
`

func bulkCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(stdout, bulkUsage)
		if len(args) == 0 {
			return usageError{"bulk needs issue or generate"}
		}
		return nil
	}
	switch args[0] {
	case "issue":
		return bulkIssue(ctx, args[1:], stdout, stderr)
	case "generate":
		return bulkGenerate(args[1:], stdout)
	}
	return usageError{fmt.Sprintf("unknown bulk command %q (issue or generate)", args[0])}
}

func bulkGenerate(args []string, stdout io.Writer) error {
	fs := flagSet("bulk generate")
	out := fs.String("out", "", "")
	n := fs.Int("patients", 0, "")
	seed := fs.Uint64("seed", 1, "")
	broken := fs.Bool("broken", false, "")
	if err := parseBulk(fs, args, stdout); err != nil {
		return err
	}
	if *out == "" || *n <= 0 {
		return usageError{"bulk generate needs --out DIR and --patients N"}
	}
	if err := bulk.Generate(*out, bulk.SynthOptions{Patients: *n, Seed: *seed, Broken: *broken}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote synthetic NDJSON for %d patients to %s\n", *n, *out)
	return nil
}

func bulkIssue(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flagSet("bulk issue")
	var c service.Config
	in := fs.String("in", "", "")
	out := fs.String("out", "", "")
	batch := fs.String("batch", "", "")
	outputs := fs.String("outputs", "card", "")
	paper := fs.String("paper", "a4", "")
	workers := fs.Int("workers", 0, "")
	every := fs.Duration("progress-every", 10*time.Second, "")
	cpuprofile := fs.String("cpuprofile", "", "")
	fs.StringVar(&c.DataDir, "data", "./data", "")
	fs.StringVar(&c.Store, "store", "sqlite", "")
	fs.StringVar(&c.PostgresDSN, "postgres-dsn", "", "")
	fs.StringVar(&c.Iss, "iss", "", "")
	fs.StringVar(&c.QRLevel, "qr-level", "L", "")
	fs.StringVar(&c.KeyPassphraseFile, "key-passphrase-file", "", "")
	fs.StringVar(&c.KEKFile, "kek-file", "", "")
	kekTokenFlags(fs, &c.KEKToken)
	fs.StringVar(&c.IssuerName, "issuer-name", "", "")
	fs.StringVar(&c.BaseURL, "base-url", "", "")
	fs.DurationVar(&c.LinkExpiry, "link-expiry", 0, "")
	passcodes := fs.Bool("link-passcodes", false, "")
	if err := parseBulk(fs, args, stdout); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return usageError{"bulk issue needs --in DIR|ZIP and --out DIR"}
	}
	o, err := bulk.ParseOutputs(strings.ToLower(*outputs))
	if err != nil {
		return usageError{"--outputs: " + err.Error()}
	}
	if (*passcodes || c.LinkExpiry != 0) && !o.Link {
		return usageError{"--link-passcodes and --link-expiry need link in --outputs"}
	}
	if c.LinkExpiry < 0 {
		return usageError{"--link-expiry must not be negative"}
	}
	o.LinkPasscode = *passcodes
	switch strings.ToLower(*paper) {
	case "a4":
		o.Paper = "A4"
	case "letter":
		o.Paper = "Letter"
	default:
		return usageError{"--paper must be a4 or letter"}
	}
	o.IssuerName = c.IssuerName
	if *batch == "" {
		var b [8]byte
		rand.Read(b[:])
		*batch = time.Now().UTC().Format("20060102") + "-" + hex.EncodeToString(b[:])
		fmt.Fprintf(stdout, "batch %s (to resume: --batch %s --out %s)\n", *batch, *batch, *out)
	}
	c.KeyPassphrase = []byte(os.Getenv(passphraseEnv))
	kekPIN(&c.KEKToken)
	c.Logger = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c.Stdout, c.RingOptions = stdout, ringOptions
	svc, err := service.OpenIssuer(ctx, c)
	clear(c.KeyPassphrase)
	if err != nil {
		return cliErr(err)
	}
	defer svc.Close()
	var linker bulk.Linker
	if o.Link {
		links, err := svc.BulkLinks(ctx)
		if err != nil {
			return cliErr(err)
		}
		linker = links
		o.LinkExp = time.Now().Add(links.DefaultExpiry()).Unix()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *cpuprofile != "" { // for BENCHMARKS.md: the share of time per stage
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	prog := newProgress(stderr, *every)
	sum, err := bulk.Run(ctx, bulk.Config{Issuer: svc.Issuer(), In: *in, Out: *out, BatchID: *batch,
		Outputs: o, Workers: *workers, Progress: prog.update, Linker: linker})
	prog.finish()
	switch {
	case errors.Is(err, bulk.ErrBatchMismatch), errors.Is(err, bulk.ErrInvalidInput):
		return usageError{err.Error()}
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("interrupted; run again with --batch %s --out %s to continue", *batch, *out)
	case err != nil:
		return fmt.Errorf("%w (run again with --batch %s --out %s to continue)", err, *batch, *out)
	}
	fmt.Fprintf(stdout, "batch %s done: %d results in %s; this run issued %d patients (%d cards), %d failed\n",
		sum.BatchID, sum.Total, *out+"/"+bulk.ResultsFile, sum.Issued, sum.Cards, sum.Failed)
	return nil
}

// parseBulk is parse with the bulk help, taking SHC_ISSUER_* from the
// environment only for the flags shared with serve (--data, --store,
// --postgres-dsn, ...): SHC_ISSUER_OUT should not steer a batch.
func parseBulk(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	for _, a := range args {
		if isHelp(a) {
			fmt.Fprint(stdout, bulkUsage)
			return errHelpShown
		}
	}
	for _, name := range []string{"data", "store", "postgres-dsn", "iss", "base-url", "link-expiry", "qr-level", "key-passphrase-file", "kek-file", "issuer-name"} {
		if f := fs.Lookup(name); f != nil {
			env := "SHC_ISSUER_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
			if v, ok := os.LookupEnv(env); ok {
				_ = f.Value.Set(v)
			}
		}
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	return nil
}

// progress shows a run: a bar with counts, rate and ETA on a terminal,
// else a plain line every interval.
type progress struct {
	w      io.Writer
	bar    *progressbar.ProgressBar
	every  time.Duration
	last   time.Time
	start  time.Time
	done0  int
	seen   bool
	latest bulk.Progress
}

func newProgress(w io.Writer, every time.Duration) *progress {
	p := &progress{w: w, every: every, start: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(w), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("patients"), progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetDescription("indexing"), progressbar.OptionFullWidth())
	}
	return p
}

func (p *progress) update(pr bulk.Progress) {
	p.latest = pr
	if pr.Phase == "issue" && !p.seen {
		p.seen, p.done0, p.start = true, pr.Done, time.Now()
		if p.bar != nil {
			p.bar.ChangeMax(pr.Total)
			p.bar.Describe("issuing")
		}
	}
	if p.bar != nil {
		if pr.Phase == "index" {
			p.bar.Set(pr.Read)
			return
		}
		p.bar.Describe(fmt.Sprintf("issued %d, failed %d", pr.Issued, pr.Failed))
		p.bar.Set(pr.Done)
		return
	}
	if time.Since(p.last) < p.every {
		return
	}
	p.last = time.Now()
	p.line(pr)
}

func (p *progress) line(pr bulk.Progress) {
	if pr.Phase == "index" {
		fmt.Fprintf(p.w, "bulk: indexing, %d records read\n", pr.Read)
		return
	}
	el := time.Since(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(pr.Done-p.done0) / el
	}
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(pr.Total-pr.Done)/rate) * time.Second).Round(time.Second).String()
	}
	pct := 100.0
	if pr.Total > 0 {
		pct = 100 * float64(pr.Done) / float64(pr.Total)
	}
	fmt.Fprintf(p.w, "bulk: %d/%d results (%.1f%%), %.0f/s, ETA %s; issued %d (%d cards), failed %d\n",
		pr.Done, pr.Total, pct, rate, eta, pr.Issued, pr.Cards, pr.Failed)
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.w)
		return
	}
	if p.seen {
		p.line(p.latest)
	}
}
