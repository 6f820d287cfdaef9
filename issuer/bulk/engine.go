package bulk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/store"
)

// Config configures one bulk run.
type Config struct {
	// Issuer issues and stores the cards (the service's issuer: a bulk card
	// is the same card as one issued through the API).
	Issuer *issuer.Issuer
	// In is a directory of *.ndjson files or a ZIP archive of them (FHIR
	// Bulk Data $export output).
	In string
	// Out is the output directory: results.ndjson, cards/, qr/, pdf/ and
	// the run's state in .bulk/.
	Out string
	// BatchID names the run. Running again with the same BatchID and Out
	// resumes it; card ids derive from it (issuer.IssueOptions.IdempotencyKey).
	BatchID string
	// Outputs chooses the files written per patient.
	Outputs Outputs
	// Workers is the number of patients issued in parallel; 0 is four per
	// core (GOMAXPROCS): each worker also waits for the store's durable
	// commit, which the issuer groups across workers.
	Workers int
	// Progress, if set, is called from one goroutine at most twice a second.
	Progress func(Progress)
	// Logger receives counts and phases, never PHI; nil discards.
	Logger *slog.Logger
	// Actor is recorded in the audit event of every card; "" is
	// "bulk:BATCHID".
	Actor string
	// Linker creates the SMART Health Links asked for by Outputs.Link
	// (httpapi.Links: the same code path as POST /v1/links).
	Linker Linker

	// Set by Manager: results recorded in the database instead of
	// OUT/results.ndjson, and no files written (they are rendered from the
	// stored cards when downloaded).
	results    resultLog
	noFiles    bool
	flushLines int
	afterFlush func(done int) // tests: called after each durable flush
}

// Outputs are the files written per patient. Card (.smart-health-card) is
// always written when nothing else is chosen. In JSON (the API's batch
// status and the stored batch options) the fields are camelCase; stored
// options written before the tags still decode, as encoding/json matches
// names without regard to case.
type Outputs struct {
	Card bool `json:"card,omitempty"` // cards/ID.smart-health-card (every card of the patient)
	PNG  bool `json:"png,omitempty"`  // qr/ID-N.png, one per card
	SVG  bool `json:"svg,omitempty"`  // qr/ID-N.svg, one per card
	PDF  bool `json:"pdf,omitempty"`  // pdf/ID.pdf: name, birth date, contents in words, one QR per page
	// Paper is "A4" (default) or "Letter".
	Paper string `json:"paper,omitempty"`
	// IssuerName is printed on PDFs; empty prints the iss.
	IssuerName string `json:"issuerName,omitempty"`
	// Link gives every issued patient a SMART Health Link to its cards
	// (one .smart-health-card file), with its QR in qr/ID-link.png and on
	// a last PDF page. Needs Config.Linker.
	Link bool `json:"link,omitempty"`
	// LinkPasscode protects each link with its own 8-digit passcode,
	// derived from the batch and patient (the same on every attempt) and
	// written in the result line and on the PDF.
	LinkPasscode bool `json:"linkPasscode,omitempty"`
	// LinkExp is the links' expiry in Unix seconds; 0 is 30 days
	// (DefaultLinkExpiry) after the run starts.
	LinkExp int64 `json:"linkExp,omitempty"`
}

// OutputKinds names the file kinds a run can write, as ParseOutputs reads
// them.
const OutputKinds = "card, png, svg, pdf, link"

// ParseOutputs reads a comma-separated list of output kinds (OutputKinds)
// into the kinds of Outputs; the paper, issuer name and link options stay
// unset. An unknown kind is an error naming it.
func ParseOutputs(list string) (Outputs, error) {
	var o Outputs
	for _, k := range strings.Split(list, ",") {
		switch strings.TrimSpace(k) {
		case "card":
			o.Card = true
		case "png":
			o.PNG = true
		case "svg":
			o.SVG = true
		case "pdf":
			o.PDF = true
		case "link":
			o.Link = true
		default:
			return Outputs{}, fmt.Errorf("unknown output %q (%s, comma-separated)", k, OutputKinds)
		}
	}
	return o, nil
}

// DefaultLinkExpiry is the lifetime of a bulk link without LinkExp: the
// API's default (httpapi.DefaultLinkExpiry).
const DefaultLinkExpiry = 30 * 24 * time.Hour

func (o Outputs) qr() bool { return o.PNG || o.SVG || o.PDF }

// Progress is a snapshot of a run.
type Progress struct {
	Phase  string // "index" or "issue"
	Read   int    // records indexed (index phase)
	Total  int    // results the run will write (issue phase)
	Done   int    // results written, including those of earlier attempts
	Issued int    // patients issued in this attempt
	Failed int    // results with an OperationOutcome in this attempt
	Cards  int    // cards in this attempt
}

// Summary is the outcome of Run.
type Summary struct {
	BatchID string
	Resumed bool // an earlier attempt of this batch had begun
	Total   int  // result lines of the batch
	Issued  int  // patients issued in this attempt
	Failed  int  // failed patients and bad records in this attempt
	Cards   int  // cards written in this attempt
}

// Result is one line of results.ndjson: a patient (with its cards and
// files) or a record that could not be placed, with an OperationOutcome
// carrying the stable code of what was wrong.
type Result struct {
	Key     string                   `json:"key"` // "patient/ID" or "record/FILE:LINE"
	Patient string                   `json:"patient,omitempty"`
	Record  string                   `json:"record,omitempty"`
	Status  string                   `json:"status"` // StatusIssued or StatusFailed
	Cards   []CardResult             `json:"cards,omitempty"`
	File    string                   `json:"file,omitempty"` // .smart-health-card, relative to Out
	PDF     string                   `json:"pdf,omitempty"`
	Outcome *issuer.OperationOutcome `json:"outcome,omitempty"`
	Link    *LinkResult              `json:"link,omitempty"`
}

type result = Result

// CardResult is one card of a Result.
type CardResult struct {
	ID    string   `json:"id"` // the store's card id (download links)
	Types []string `json:"types"`
	PNG   string   `json:"png,omitempty"`
	SVG   string   `json:"svg,omitempty"`
}

// Result statuses.
const (
	StatusIssued = "issued"
	StatusFailed = "failed"
)

// ResultsFile is the name of the results file in Out.
const ResultsFile = "results.ndjson"

// flushEvery bounds how long a written result waits to become durable.
const (
	flushEvery = 500 * time.Millisecond
	flushLines = 256
)

type batchState struct {
	Batch string `json:"batch"`
	Input string `json:"input"`
}

// Run issues a batch: it indexes the input (unless an earlier attempt of
// the batch finished that), then issues every patient not yet in
// results.ndjson. Bad records and patients never stop the run; they get a
// result line with an OperationOutcome. Run returns an error only when the
// run itself cannot go on (input unreadable, output not writable, store
// down, ctx done); running it again with the same BatchID continues.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	if cfg.Issuer == nil || cfg.Out == "" || cfg.In == "" {
		return Summary{}, errors.New("bulk: Config.Issuer, In and Out are required")
	}
	if !validBatchID(cfg.BatchID) {
		return Summary{}, errf(CodeInvalidInput, "batch id %q: 1..64 characters of A-Z a-z 0-9 . _ -", cfg.BatchID)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4 * runtime.GOMAXPROCS(0)
	}
	if !cfg.Outputs.Card && !cfg.Outputs.qr() {
		cfg.Outputs.Card = true
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Actor == "" {
		cfg.Actor = "bulk:" + cfg.BatchID
	}
	if cfg.Outputs.Link && cfg.Linker == nil {
		return Summary{}, errf(CodeInvalidInput, "links were asked for but this run has no link host")
	}
	if cfg.Outputs.Link && cfg.Outputs.LinkExp == 0 {
		cfg.Outputs.LinkExp = cfg.Issuer.Now().Add(DefaultLinkExpiry).Unix()
	}
	if cfg.flushLines <= 0 {
		cfg.flushLines = flushLines
	}
	in, err := filepath.Abs(cfg.In)
	if err != nil {
		return Summary{}, err
	}
	state := filepath.Join(cfg.Out, ".bulk")
	if err := os.MkdirAll(state, 0o700); err != nil {
		return Summary{}, err
	}
	sum := Summary{BatchID: cfg.BatchID}
	stPath := filepath.Join(state, "batch.json")
	want := batchState{Batch: cfg.BatchID, Input: in}
	if b, err := os.ReadFile(stPath); err == nil {
		var have batchState
		if json.Unmarshal(b, &have) != nil || have != want {
			return sum, errf(CodeBatchMismatch, "%s holds batch %q of input %s; use that batch id and input to resume it, or another output directory", cfg.Out, have.Batch, have.Input)
		}
		sum.Resumed = true
	} else if errors.Is(err, os.ErrNotExist) {
		b, _ := json.Marshal(want)
		if err := writeFileAtomic(stPath, b); err != nil {
			return sum, err
		}
	} else {
		return sum, err
	}
	r := &run{cfg: cfg, log: cfg.Logger}
	if err := r.prepareDirs(); err != nil {
		return sum, err
	}
	ixPath := filepath.Join(state, "index.db")
	r.ix, err = openIndex(ctx, ixPath)
	if err != nil {
		return sum, err
	}
	defer r.ix.Close()
	if v, err := r.ix.meta(ctx, "indexed"); err != nil {
		return sum, err
	} else if v != "yes" {
		// An interrupted indexing starts over: drop what it wrote.
		r.ix.Close()
		for _, suf := range []string{"", "-wal", "-shm"} {
			os.Remove(ixPath + suf)
		}
		if r.ix, err = openIndex(ctx, ixPath); err != nil {
			return sum, err
		}
		if err := r.index(ctx, cfg.In); err != nil {
			return sum, err
		}
	}
	err = r.issue(ctx)
	total, _, cerr := r.ix.counts(context.Background())
	sum.Total = total
	sum.Issued, sum.Failed, sum.Cards = int(r.issued.Load()), int(r.failed.Load()), int(r.cards.Load())
	if err == nil {
		err = cerr
	}
	return sum, err
}

func validBatchID(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

type run struct {
	cfg Config
	log *slog.Logger
	ix  *index

	issued, failed, cards atomic.Int64
	out                   *outputs
}

func (r *run) prepareDirs() error {
	for _, d := range []string{"cards", "qr", "pdf"} {
		p := filepath.Join(r.cfg.Out, d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return err
		}
		// Temporary files of a killed attempt.
		tmps, _ := filepath.Glob(filepath.Join(p, ".tmp-*"))
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	return nil
}

func (r *run) index(ctx context.Context, in string) error {
	files, closeIn, err := listInput(in)
	if err != nil {
		return err
	}
	defer closeIn()
	start := time.Now()
	last := time.Now()
	err = load(ctx, r.ix, files, func(n int) {
		if r.cfg.Progress != nil && time.Since(last) > flushEvery {
			last = time.Now()
			r.cfg.Progress(Progress{Phase: "index", Read: n})
		}
	})
	if err != nil {
		return err
	}
	if err := r.ix.setMeta(ctx, "indexed", "yes"); err != nil {
		return err
	}
	r.log.Info("bulk input indexed", "batch", r.cfg.BatchID, "files", len(files), "seconds", time.Since(start).Seconds())
	return nil
}

// issue writes a result for every patient and record error not yet done.
func (r *run) issue(ctx context.Context) error {
	var f *os.File
	if r.cfg.results == nil {
		var err error
		f, err = os.OpenFile(filepath.Join(r.cfg.Out, ResultsFile), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := r.reconcile(ctx, f); err != nil {
			return err
		}
	} else if err := r.reconcileLog(ctx); err != nil {
		return err
	}
	r.out = newOutputs(r.cfg)
	total, done, err := r.ix.counts(ctx)
	if err != nil {
		return err
	}
	w := &resultWriter{f: f, log: r.cfg.results, dir: r.cfg.Out, ix: r.ix, total: total, done: done, r: r}
	if r.cfg.Progress != nil {
		r.cfg.Progress(Progress{Phase: "issue", Total: total, Done: done})
	}
	recs, err := r.ix.recordErrors(ctx)
	if err != nil {
		return err
	}
	for _, res := range recs {
		r.failed.Add(1)
		w.add(res)
	}
	if err := w.flush(ctx); err != nil {
		return err
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	todo := make(chan pending, 2*r.cfg.Workers)
	results := make(chan Result, 2*r.cfg.Workers)
	var wg sync.WaitGroup
	go func() {
		defer close(todo)
		after := ""
		for {
			ps, err := r.ix.nextPatients(ctx, after, 256)
			if err != nil {
				cancel(err)
				return
			}
			if len(ps) == 0 {
				return
			}
			for _, p := range ps {
				select {
				case todo <- p:
				case <-ctx.Done():
					return
				}
			}
			after = ps[len(ps)-1].ID
		}
	}()
	for range r.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range todo {
				res, err := r.patient(ctx, p)
				if err != nil {
					cancel(err)
					return
				}
				select {
				case results <- res:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	for {
		select {
		case res, ok := <-results:
			if !ok {
				if err := w.flush(ctx); err != nil {
					return err
				}
				return context.Cause(ctx)
			}
			w.add(res)
			if len(w.pending) >= r.cfg.flushLines {
				if err := w.flush(ctx); err != nil {
					cancel(err)
					return err
				}
			}
		case <-tick.C:
			if err := w.flush(ctx); err != nil {
				cancel(err)
				return err
			}
		}
	}
}

// reconcile reads the results of earlier attempts: a torn last line (a
// kill during a write) is cut off, and every complete line marks its key
// done, so that it is never written twice. results.ndjson is the truth:
// the index's done flags are rebuilt from it.
func (r *run) reconcile(ctx context.Context, f *os.File) error {
	if err := r.ix.resetDone(ctx); err != nil {
		return err
	}
	br := bufio.NewReaderSize(f, 64<<10)
	var good int64
	var keys []string
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			var k struct {
				Key string `json:"key"`
			}
			if json.Unmarshal(line, &k) == nil && k.Key != "" {
				keys = append(keys, k.Key)
				good += int64(len(line))
			} else {
				return fmt.Errorf("bulk: %s has a line that is not a result at byte %d; it was not written by this program", ResultsFile, good)
			}
			if len(keys) >= 1000 {
				if err := r.ix.markDone(ctx, keys); err != nil {
					return err
				}
				keys = keys[:0]
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if err := r.ix.markDone(ctx, keys); err != nil {
		return err
	}
	if err := f.Truncate(good); err != nil {
		return err
	}
	_, err := f.Seek(good, io.SeekStart)
	return err
}

// reconcileLog marks done, in the index, every result the database
// already holds (an earlier attempt on this or another replica).
func (r *run) reconcileLog(ctx context.Context) error {
	if err := r.ix.resetDone(ctx); err != nil {
		return err
	}
	var keys []string
	err := r.cfg.results.recorded(ctx, func(k string) error {
		keys = append(keys, k)
		if len(keys) >= 1000 {
			err := r.ix.markDone(ctx, keys)
			keys = keys[:0]
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	return r.ix.markDone(ctx, keys)
}

// resultLog records result lines elsewhere than results.ndjson (the
// Manager's database): record is durable and atomic when it returns, and
// skips keys already recorded.
type resultLog interface {
	recorded(ctx context.Context, fn func(key string) error) error
	record(ctx context.Context, rs []Result) error
}

// resultWriter appends result lines. A line is written only after the
// files it names are durable (syncfs), and is itself synced before its key
// is marked done in the index.
type resultWriter struct {
	f           *os.File
	log         resultLog
	dir         string
	ix          *index
	pending     []Result
	buf         bytes.Buffer
	total, done int
	r           *run
}

func (w *resultWriter) add(res Result) { w.pending = append(w.pending, res) }

func (w *resultWriter) flush(ctx context.Context) error {
	if len(w.pending) > 0 {
		keys := make([]string, 0, len(w.pending))
		for _, res := range w.pending {
			keys = append(keys, res.Key)
		}
		if w.log != nil {
			if err := w.log.record(ctx, w.pending); err != nil {
				return err
			}
		} else {
			if err := syncDir(w.dir); err != nil {
				return err
			}
			w.buf.Reset()
			enc := json.NewEncoder(&w.buf)
			enc.SetEscapeHTML(false)
			for _, res := range w.pending {
				if err := enc.Encode(res); err != nil {
					return err
				}
			}
			if _, err := w.f.Write(w.buf.Bytes()); err != nil {
				return err
			}
			if err := w.f.Sync(); err != nil {
				return err
			}
		}
		if err := w.ix.markDone(context.WithoutCancel(ctx), keys); err != nil {
			return err
		}
		w.done += len(w.pending)
		w.pending = w.pending[:0]
		if w.r.cfg.afterFlush != nil {
			w.r.cfg.afterFlush(w.done)
		}
	}
	if w.r.cfg.Progress != nil {
		w.r.cfg.Progress(Progress{Phase: "issue", Total: w.total, Done: w.done,
			Issued: int(w.r.issued.Load()), Failed: int(w.r.failed.Load()), Cards: int(w.r.cards.Load())})
	}
	return nil
}

// patient issues one patient's cards and writes its files. A patient that
// cannot be issued gives a failed Result; the error return is for failures
// of the run (store, disk, ctx).
func (r *run) patient(ctx context.Context, p pending) (Result, error) {
	res := Result{Key: "patient/" + p.ID, Patient: p.ID}
	fail := func(err error) (Result, error) {
		res.Status, res.Outcome = StatusFailed, ptr(issuer.Outcome(err))
		r.failed.Add(1)
		return res, nil
	}
	switch {
	case p.JSON == nil:
		return fail(errf(issuer.CodeMissingPatient, "resources reference Patient/%s, which is not in the input", p.ID))
	case p.Dup:
		return fail(errf(CodeDuplicateRecord, "Patient/%s appears more than once in the input; none of its cards were issued", p.ID))
	}
	rs, err := r.ix.resources(ctx, p.ID, r.cfg.Issuer.MaxBundleBytes())
	if issuer.CodeOf(err) == CodeTooLarge {
		return fail(err)
	}
	if err != nil {
		return res, err
	}
	if len(rs) == 0 {
		return fail(errf(issuer.CodeNoContent, "Patient/%s has no Observation, Immunization or DiagnosticReport in the input", p.ID))
	}
	for _, raw := range rs {
		if err := checkCodeSystems(raw); err != nil {
			return fail(err)
		}
	}
	bundle, err := r.bundle(ctx, p.JSON, rs)
	if issuer.CodeOf(err) == CodeTooLarge {
		return fail(err)
	}
	if err != nil {
		return res, err
	}
	delivery := issuer.DeliverFile
	if r.cfg.Outputs.qr() {
		delivery = issuer.DeliverQR
	}
	key := r.cfg.BatchID + "\x00" + p.ID
	var cards []store.IssuedCard
	issued, err := r.cfg.Issuer.IssueBundle(ctx, bundle, issuer.IssueOptions{Actor: r.cfg.Actor, Delivery: delivery, IdempotencyKey: key})
	switch {
	case err == nil:
		for _, c := range issued {
			cards = append(cards, store.IssuedCard{ID: c.ID, PatientID: p.ID, Kid: c.Kid, RID: c.RID, Types: c.Types, IssuedAt: c.IssuedAt, JWS: c.JWS})
		}
	case errors.Is(err, store.ErrConflict):
		// An earlier attempt stored them: never issue twice.
		cards, err = r.cfg.Issuer.IdempotentCards(ctx, key)
		if err != nil {
			return res, err
		}
		if len(cards) == 0 {
			return res, fmt.Errorf("bulk: the store refused the cards of a patient as duplicates but holds none")
		}
	case ctx.Err() != nil:
		return res, ctx.Err()
	case issuer.CodeOf(err) == issuer.CodeInternal || issuer.CodeOf(err) == issuer.CodeNoSigningKey:
		return res, err
	default:
		return fail(err)
	}
	if len(cards) == 0 {
		return fail(errf(issuer.CodeNoContent, "nothing on Patient/%s can go on a card", p.ID))
	}
	if err := r.out.write(&res, p.ID, cards); err != nil {
		return res, err
	}
	if r.cfg.Outputs.Link {
		if err := r.link(ctx, &res, key, p.ID, cards); err != nil {
			return res, err
		}
	}
	res.Status = StatusIssued
	r.issued.Add(1)
	r.cards.Add(int64(len(cards)))
	return res, nil
}

func ptr[T any](v T) *T { return &v }

// bundle builds the collection Bundle of a patient: the Patient, its
// resources, and the supporting resources they reference (transitively,
// at most maxSupporting). A reference to nothing stays, and the issuer
// reports it (unresolved_reference), as for a single card.
func (r *run) bundle(ctx context.Context, patient []byte, rs []json.RawMessage) ([]byte, error) {
	const maxSupporting = 256
	var buf bytes.Buffer
	buf.WriteString(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":`)
	buf.Write(patient)
	buf.WriteByte('}')
	for _, raw := range rs {
		buf.WriteString(`,{"resource":`)
		buf.Write(raw)
		buf.WriteByte('}')
	}
	seen := map[string]bool{}
	queue := append([]json.RawMessage(nil), rs...)
	for len(queue) > 0 && len(seen) < maxSupporting {
		raw := queue[0]
		queue = queue[1:]
		for _, ref := range references(raw) {
			if seen[ref] || strings.HasPrefix(ref, issuer.TypePatient+"/") {
				continue
			}
			seen[ref] = true
			sup, err := r.ix.supportingResource(ctx, ref)
			if err != nil {
				return nil, err
			}
			if sup == nil {
				continue
			}
			if buf.Len()+len(sup) > r.cfg.Issuer.MaxBundleBytes() {
				return nil, errf(CodeTooLarge, "the bundle with its supporting resources is over %d bytes", r.cfg.Issuer.MaxBundleBytes())
			}
			buf.WriteString(`,{"resource":`)
			buf.Write(sup)
			buf.WriteByte('}')
			queue = append(queue, sup)
		}
	}
	buf.WriteString(`]}`)
	return buf.Bytes(), nil
}

// references returns the "Type/id" tails of every Reference.reference in
// raw.
func references(raw json.RawMessage) []string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var out []string
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 32 {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "reference" {
					parts := strings.Split(s, "/")
					if len(parts) >= 2 {
						out = append(out, parts[len(parts)-2]+"/"+parts[len(parts)-1])
					}
					continue
				}
				walk(e, depth+1)
			}
		case []any:
			for _, e := range x {
				walk(e, depth+1)
			}
		}
	}
	walk(v, 0)
	return out
}

// checkCodeSystems refuses a result or dose coded only in systems the
// issuer does not know (terminology: LOINC, CVX, SNOMED CT): verifiers
// could not name it.
func checkCodeSystems(raw json.RawMessage) error {
	var r struct {
		ResourceType string       `json:"resourceType"`
		ID           string       `json:"id"`
		Code         *codeableRef `json:"code"`
		VaccineCode  *codeableRef `json:"vaccineCode"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return nil // the issuer reports it
	}
	cc, field := r.Code, "code"
	if r.ResourceType == issuer.TypeImmunization {
		cc, field = r.VaccineCode, "vaccineCode"
	}
	if cc == nil || len(cc.Coding) == 0 {
		return nil
	}
	var systems []string
	for _, c := range cc.Coding {
		if knownSystem(c.System) {
			return nil
		}
		systems = append(systems, fmt.Sprintf("%.80q", c.System))
	}
	return errf(CodeUnknownCodeSystem, "%s/%s.%s is coded only in %s; cards carry LOINC, CVX or SNOMED CT codes", r.ResourceType, r.ID, field, strings.Join(systems, ", "))
}

type codeableRef struct {
	Coding []struct {
		System string `json:"system"`
	} `json:"coding"`
}
