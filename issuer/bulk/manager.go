package bulk

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/sqlstore"
)

// Batch states.
const (
	BatchQueued  = "queued"
	BatchRunning = "running"
	BatchDone    = "done"
	BatchFailed  = "failed" // the run itself failed (not a patient): see Error
)

// BatchStatus is what GET /v1/batches/{id} answers. Every replica reads it
// from the database: the counters grow in the transaction that records the
// result lines.
type BatchStatus struct {
	ID       string    `json:"id"`
	Status   string    `json:"status"`
	Owner    string    `json:"-"` // the actor that submitted it
	Created  time.Time `json:"created"`
	Outputs  Outputs   `json:"outputs"`
	Phase    string    `json:"phase,omitempty"`
	Total    int       `json:"total"`
	Done     int       `json:"done"`
	Issued   int       `json:"issued"`
	Failed   int       `json:"failed"`
	Cards    int       `json:"cards"`
	Attempts int       `json:"attempts"` // claims so far: more than 1 after a resume
	Error    string    `json:"error,omitempty"`
}

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	// DB keeps every batch: its state, lease, uploaded input and result
	// lines (the issuer's store; shared by replicas on PostgreSQL).
	DB *sqlstore.Store
	// Dir is local scratch space for the batch this process runs (its
	// input copied from DB and the grouping index), used by this Manager
	// only: it holds PHI while a batch runs, is emptied afterwards, and
	// what a killed process left in it is removed by NewManager.
	Dir    string
	Issuer *issuer.Issuer
	Logger *slog.Logger
	// Workers is passed to Config.Workers.
	Workers int
	// Linker makes the links of batches that ask for them; nil refuses
	// such batches at submission.
	Linker Linker
	// Lease is how long a claim lasts unless renewed (every Lease/3);
	// 0 is DefaultLease. A replica that dies holds its batch at most this
	// long.
	Lease time.Duration
	// Poll is how often the Manager looks for a batch to run (queued, or
	// left by a replica whose lease ended); 0 is DefaultPoll.
	Poll time.Duration
	// Clock is the clock leases and batch creation times are written and
	// compared with; nil is the database's (DB.Now: PostgreSQL's now()),
	// so replicas need no clock agreement. Tests inject one.
	Clock func(ctx context.Context) (time.Time, error)
	// Now is this process's clock, for the links' default expiry; nil is
	// time.Now.
	Now func() time.Time
	// Replica names this process in leases; "" is a random name.
	Replica string
	// IssuerName is printed on PDFs (Outputs.IssuerName); empty prints
	// the iss.
	IssuerName string

	flushLines int
	afterFlush func(done int)
}

// Lease defaults.
const (
	DefaultLease = 30 * time.Second
	DefaultPoll  = 2 * time.Second
)

// Manager runs batches submitted through the API, one at a time per
// process (each uses every core). Batches live in the database: any
// replica takes a submitted batch by one conditional UPDATE of its lease,
// renews the lease while it runs, and records each result line (with the
// card ids and link of its patient, all or none) durably; when a replica
// dies another takes the batch once the lease has ended and resumes it
// from the recorded results, issuing no card or link twice. Output files
// are not kept: they are rendered from the stored cards when downloaded,
// on any replica.
type Manager struct {
	cfg    ManagerConfig
	log    *slog.Logger
	now    func() time.Time
	clock  func(context.Context) (time.Time, error)
	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	killed bool
}

// NewManager checks cfg and starts looking for batches to run. Close stops
// it (a running batch's lease is released, and it resumes on this or
// another replica).
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.Issuer == nil || cfg.Dir == "" || cfg.DB == nil {
		return nil, errors.New("bulk: ManagerConfig.DB, Issuer and Dir are required")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	// Scratch copies a killed process left (PHI): the batches are in the
	// database, and whoever resumes one copies its input again.
	if ents, err := os.ReadDir(cfg.Dir); err == nil {
		for _, e := range ents {
			if validBatchID(e.Name()) {
				os.RemoveAll(filepath.Join(cfg.Dir, e.Name()))
			}
		}
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Replica == "" {
		var b [8]byte
		rand.Read(b[:])
		host, _ := os.Hostname()
		cfg.Replica = fmt.Sprintf("%.40s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, now: cfg.Now, wake: make(chan struct{}, 1)}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.clock = cfg.Clock
	if m.clock == nil {
		m.clock = cfg.DB.Now
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.wg.Add(1)
	go m.loop()
	return m, nil
}

// Close stops the runner and waits for it; a running batch stops and its
// lease is released for another replica (or the next start).
func (m *Manager) Close() error {
	m.cancel()
	m.wg.Wait()
	return nil
}

// kill stops the runner as a crash would: the lease is neither released
// nor the batch finished (tests).
func (m *Manager) kill() {
	m.mu.Lock()
	m.killed = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
}

// ErrQueueFull is returned by Submit when too many batches wait.
var ErrQueueFull = errf(issuer.CodeRateLimited, "too many batches are waiting; retry later")

// Upload is one input file of a submitted batch.
type Upload struct {
	Name string // a base name ending in .ndjson, or .zip for an archive
	Body io.Reader
}

// Submit stores the uploaded files (at most maxBytes in all) as a new
// batch and returns its status.
func (m *Manager) Submit(ctx context.Context, owner string, outputs Outputs, files []Upload, maxBytes int64) (BatchStatus, error) {
	i := 0
	return m.SubmitStream(ctx, owner, outputs, func() (*Upload, error) {
		if i == len(files) {
			return nil, nil
		}
		i++
		return &files[i-1], nil
	}, maxBytes)
}

// maxUploadFiles caps the files of one batch.
const maxUploadFiles = 64

// maxWaiting bounds the batches waiting to run.
const maxWaiting = 64

// batchOptions is what the database keeps of a batch's run (its options
// column).
type batchOptions struct {
	Outputs Outputs `json:"outputs"`
}

// SubmitStream is Submit with the files given one at a time by next (nil
// at the end), each read to its end before the next is asked for: an
// upload streams into the database in pieces of sqlstore.MaxBatchChunk,
// and replicas claim the batch only once all of it is stored.
func (m *Manager) SubmitStream(ctx context.Context, owner string, outputs Outputs, next func() (*Upload, error), maxBytes int64) (BatchStatus, error) {
	if outputs.Link && m.cfg.Linker == nil {
		return BatchStatus{}, errf(CodeInvalidInput, "this service hosts no SMART Health Links")
	}
	now, err := m.clock(ctx)
	if err != nil {
		return BatchStatus{}, err
	}
	if n, err := m.cfg.DB.ClaimableBatches(ctx, [2]string{BatchQueued, BatchQueued}, now, maxWaiting+1); err != nil {
		return BatchStatus{}, err
	} else if len(n) >= maxWaiting {
		return BatchStatus{}, ErrQueueFull
	}
	var raw [16]byte
	rand.Read(raw[:])
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	if outputs.Link && outputs.LinkExp == 0 {
		outputs.LinkExp = m.now().Add(DefaultLinkExpiry).Unix()
	}
	opts, _ := json.Marshal(batchOptions{Outputs: outputs})
	created := now.UTC().Truncate(time.Microsecond)
	if err := m.cfg.DB.CreateBatch(ctx, sqlstore.Batch{ID: id, Owner: owner, Created: created, Options: string(opts), Status: sqlstore.BatchUploading}); err != nil {
		return BatchStatus{}, err
	}
	fail := func(err error) (BatchStatus, error) {
		m.cfg.DB.DeleteBatch(context.WithoutCancel(ctx), id)
		return BatchStatus{}, err
	}
	left := maxBytes
	zips, nfiles := 0, 0
	seen := map[string]bool{}
	buf := make([]byte, sqlstore.MaxBatchChunk)
	for {
		f, err := next()
		if err != nil {
			return fail(err)
		}
		if f == nil {
			break
		}
		if nfiles++; nfiles > maxUploadFiles {
			return fail(errf(CodeTooLarge, "at most %d files per batch", maxUploadFiles))
		}
		name := filepath.Base(f.Name)
		isZip := strings.HasSuffix(name, ".zip")
		if !validFileName(name) || !(strings.HasSuffix(name, ".ndjson") || isZip) {
			return fail(errf(CodeInvalidInput, "file %.64q: a name of letters, digits, . _ - ending in .ndjson or .zip is required", f.Name))
		}
		if seen[name] {
			return fail(errf(CodeInvalidInput, "file %s twice in the request", name))
		}
		seen[name] = true
		if isZip {
			zips++
		}
		body := io.LimitReader(f.Body, left+1)
		for chunk := 0; ; chunk++ {
			n, err := io.ReadFull(body, buf)
			if n > 0 || chunk == 0 {
				if left -= int64(n); left < 0 {
					return fail(errf(CodeTooLarge, "the batch is over %d bytes", maxBytes))
				}
				if err := m.cfg.DB.PutBatchInput(ctx, id, name, chunk, buf[:n]); err != nil {
					return fail(err)
				}
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				break
			}
			if err != nil {
				return fail(err)
			}
		}
	}
	if nfiles == 0 {
		return fail(errf(CodeInvalidInput, "no .ndjson file or ZIP in the request"))
	}
	if zips > 0 && nfiles > 1 {
		return fail(errf(CodeInvalidInput, "send one ZIP, or .ndjson files, not both"))
	}
	if err := m.cfg.DB.QueueBatch(ctx, id, BatchQueued); err != nil {
		return fail(err)
	}
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return BatchStatus{ID: id, Status: BatchQueued, Owner: owner, Created: created, Outputs: outputs}, nil
}

// Status returns a batch's status; the owner must match (ErrNotFound
// otherwise, so that ids of other callers' batches are not confirmed).
func (m *Manager) Status(ctx context.Context, id, owner string) (BatchStatus, error) {
	if !validBatchID(id) {
		return BatchStatus{}, issuer.ErrNotFound
	}
	b, err := m.cfg.DB.Batch(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (b.Owner != owner || b.Status == sqlstore.BatchUploading)) {
		return BatchStatus{}, issuer.ErrNotFound
	}
	if err != nil {
		return BatchStatus{}, err
	}
	var o batchOptions
	if err := json.Unmarshal([]byte(b.Options), &o); err != nil {
		return BatchStatus{}, fmt.Errorf("bulk: batch %s: stored options: %w", id, err)
	}
	return BatchStatus{ID: b.ID, Status: b.Status, Owner: b.Owner, Created: b.Created, Outputs: o.Outputs, Phase: b.Phase,
		Total: int(b.Total), Done: int(b.Done), Issued: int(b.Issued), Failed: int(b.Failed), Cards: int(b.Cards),
		Attempts: b.Attempts, Error: b.Error}, nil
}

func (m *Manager) done(ctx context.Context, id, owner string) (BatchStatus, error) {
	st, err := m.Status(ctx, id, owner)
	if err != nil {
		return st, err
	}
	if st.Status != BatchDone {
		return st, errf(issuer.CodeNotFound, "batch %s is %s; its files are served when it is done", id, st.Status)
	}
	return st, nil
}

// Results writes a finished batch's results.ndjson to w, in the order the
// lines were recorded (with each link's passcode, which the database does
// not keep, derived again).
func (m *Manager) Results(ctx context.Context, id, owner string, w io.Writer) error {
	st, err := m.done(ctx, id, owner)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	return m.cfg.DB.BatchResults(ctx, id, func(line string) error {
		if st.Outputs.LinkPasscode && strings.Contains(line, `"link":`) {
			var r Result
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				return fmt.Errorf("bulk: batch %s: stored result: %w", id, err)
			}
			if err := m.withPasscode(id, &r); err != nil {
				return err
			}
			buf.Reset()
			if err := enc.Encode(r); err != nil {
				return err
			}
			_, err := w.Write(buf.Bytes())
			return err
		}
		_, err := io.WriteString(w, line+"\n")
		return err
	})
}

// withPasscode puts back the passcode of r's link (Outputs.LinkPasscode).
func (m *Manager) withPasscode(id string, r *Result) error {
	if r.Link == nil || r.Patient == "" {
		return nil
	}
	p, err := linkPasscode(m.cfg.Issuer, id+"\x00"+r.Patient)
	if err != nil {
		return err
	}
	r.Link.Passcode = p
	return nil
}

// CheckResults reports whether Results would serve the batch (before a
// response is started) and how many lines it holds: the batch's done
// counter, which grows in the same transaction as the recorded lines, so
// a client that reads fewer lines knows the stream was cut.
func (m *Manager) CheckResults(ctx context.Context, id, owner string) (lines int, err error) {
	st, err := m.done(ctx, id, owner)
	return st.Done, err
}

// File renders a finished batch's output file rel (cards/ID.smart-health-card,
// qr/ID-N.png|svg, qr/ID-link.png, pdf/ID.pdf) from the patient's stored
// cards and recorded result, or returns ErrNotFound.
func (m *Manager) File(ctx context.Context, id, owner, rel string) ([]byte, error) {
	st, err := m.done(ctx, id, owner)
	if err != nil {
		return nil, err
	}
	dir, name, ok := strings.Cut(rel, "/")
	if !ok || !validFileName(name) {
		return nil, issuer.ErrNotFound
	}
	var pid string
	switch dir {
	case "cards":
		pid, ok = strings.CutSuffix(name, ".smart-health-card")
	case "pdf":
		pid, ok = strings.CutSuffix(name, ".pdf")
	case "qr":
		base := strings.TrimSuffix(strings.TrimSuffix(name, ".png"), ".svg")
		if i := strings.LastIndexByte(base, '-'); i > 0 && base != name {
			pid = base[:i]
		} else {
			ok = false
		}
	default:
		ok = false
	}
	if !ok || pid == "" {
		return nil, issuer.ErrNotFound
	}
	line, err := m.cfg.DB.BatchResult(ctx, id, "patient/"+pid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, issuer.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var res Result
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		return nil, fmt.Errorf("bulk: batch %s: stored result: %w", id, err)
	}
	if st.Outputs.LinkPasscode {
		if err := m.withPasscode(id, &res); err != nil {
			return nil, err
		}
	}
	cards := make([]store.IssuedCard, len(res.Cards))
	for i, c := range res.Cards {
		if cards[i], err = m.cfg.Issuer.Store().Card(ctx, c.ID); err != nil {
			return nil, fmt.Errorf("bulk: batch %s: a recorded card: %w", id, err)
		}
	}
	if st.Outputs.IssuerName == "" {
		st.Outputs.IssuerName = m.cfg.IssuerName
	}
	o := newOutputs(Config{Issuer: m.cfg.Issuer, Outputs: st.Outputs})
	return o.renderFile(filepath.ToSlash(rel), res, cards)
}

// validFileName: letters, digits, . _ -, not starting with a dot, at most 128.
func validFileName(s string) bool {
	if len(s) == 0 || len(s) > 128 || s[0] == '.' {
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

// staleUpload is how old a batch still uploading must be to be deleted:
// its replica died during the upload (uploads are far shorter: the
// server's read timeout bounds them).
const staleUpload = time.Hour

func (m *Manager) loop() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.Poll)
	defer t.Stop()
	var swept time.Time
	for {
		if now, err := m.clock(m.ctx); err == nil && now.Sub(swept) > staleUpload/4 {
			swept = now
			if n, err := m.cfg.DB.DeleteStaleUploads(m.ctx, now.Add(-staleUpload)); err != nil && m.ctx.Err() == nil {
				m.log.Warn("bulk: deleting stale uploads", "err", err.Error())
			} else if n > 0 {
				m.log.Info("bulk: deleted batches whose upload never ended", "batches", n)
			}
		}
		for m.claimOne() {
			if m.ctx.Err() != nil {
				return
			}
		}
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		case <-m.wake:
		}
	}
}

// claimOne claims and runs one batch; false when none could be claimed.
func (m *Manager) claimOne() bool {
	now, err := m.clock(m.ctx)
	if err != nil {
		if m.ctx.Err() == nil {
			m.log.Error("bulk: reading the database clock", "err", err.Error())
		}
		return false
	}
	ids, err := m.cfg.DB.ClaimableBatches(m.ctx, [2]string{BatchQueued, BatchRunning}, now, 8)
	if err != nil {
		if m.ctx.Err() == nil {
			m.log.Error("bulk: looking for batches", "err", err.Error())
		}
		return false
	}
	for _, id := range ids {
		ok, err := m.cfg.DB.ClaimBatch(m.ctx, id, m.cfg.Replica, BatchRunning, [2]string{BatchQueued, BatchRunning}, now, now.Add(m.cfg.Lease))
		if err != nil {
			if m.ctx.Err() == nil {
				m.log.Error("bulk: claiming a batch", "batch", id, "err", err.Error())
			}
			return false
		}
		if ok {
			m.runBatch(id)
			return true
		}
	}
	return false
}

var errLeaseLost = errors.New("bulk: the batch's lease ended and another replica may hold it")

// dbResults records a batch's result lines in the database.
type dbResults struct {
	db *sqlstore.Store
	id string
}

func (d dbResults) recorded(ctx context.Context, fn func(string) error) error {
	return d.db.BatchResultKeys(ctx, d.id, fn)
}

func (d dbResults) record(ctx context.Context, rs []Result) error {
	rows := make([]sqlstore.BatchResult, len(rs))
	for i, r := range rs {
		if r.Link != nil && r.Link.Passcode != "" {
			// Not at rest in the database: derived again when read.
			l := *r.Link
			l.Passcode = ""
			r.Link = &l
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		rows[i] = sqlstore.BatchResult{Key: r.Key, Line: string(b), Issued: r.Status == StatusIssued, Cards: len(r.Cards)}
	}
	// Recorded even when this attempt's context ends: the cards are stored.
	_, err := d.db.AddBatchResults(context.WithoutCancel(ctx), d.id, rows)
	return err
}

// runBatch runs a batch this replica has claimed, renewing the lease, and
// records its end.
func (m *Manager) runBatch(id string) {
	db, me := m.cfg.DB, m.cfg.Replica
	b, err := db.Batch(m.ctx, id)
	if err != nil {
		m.log.Error("bulk batch unreadable", "batch", id, "err", err.Error())
		return
	}
	var o batchOptions
	if err := json.Unmarshal([]byte(b.Options), &o); err != nil {
		m.finish(id, BatchFailed, "the batch's stored options are unreadable")
		return
	}
	ctx, cancel := context.WithCancelCause(m.ctx)
	defer cancel(nil)
	// Renew the lease every Lease/3; when it cannot be renewed the run
	// stops: another replica may have the batch.
	renewDone := make(chan struct{})
	go func() {
		defer close(renewDone)
		t := time.NewTicker(m.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				now, err := m.clock(ctx)
				ok := false
				if err == nil {
					ok, err = db.RenewBatch(ctx, id, me, now.Add(m.cfg.Lease))
				}
				if err == nil && !ok {
					cancel(errLeaseLost)
					return
				}
				if err != nil && ctx.Err() == nil {
					m.log.Warn("bulk: renewing a batch lease", "batch", id, "err", err.Error())
				}
			}
		}
	}()
	defer func() { cancel(nil); <-renewDone }()

	work := filepath.Join(m.cfg.Dir, id)
	os.RemoveAll(work) // a copy left by an earlier attempt here
	defer os.RemoveAll(work)
	in, err := m.materialize(ctx, id, filepath.Join(work, "in"))
	if err != nil {
		m.stopped(ctx, id, err)
		return
	}
	if b.Attempts > 1 {
		m.log.Info("bulk batch resumed", "batch", id, "attempt", b.Attempts, "done", b.Done)
	}
	if o.Outputs.IssuerName == "" {
		o.Outputs.IssuerName = m.cfg.IssuerName
	}
	db.SetBatchPhase(ctx, id, me, "index", -1)
	phase := "index"
	_, err = Run(ctx, Config{Issuer: m.cfg.Issuer, In: in, Out: filepath.Join(work, "out"), BatchID: id,
		Outputs: o.Outputs, Workers: m.cfg.Workers, Logger: m.log, Actor: b.Owner, Linker: m.cfg.Linker,
		results: dbResults{db: db, id: id}, noFiles: true, flushLines: m.cfg.flushLines, afterFlush: m.cfg.afterFlush,
		Progress: func(p Progress) {
			if p.Phase == "issue" && phase != "issue" {
				phase = "issue"
				db.SetBatchPhase(ctx, id, me, phase, int64(p.Total))
			}
		}})
	if err != nil {
		m.stopped(ctx, id, err)
		return
	}
	m.finish(id, BatchDone, "")
	m.log.Info("bulk batch done", "batch", id)
}

// stopped handles a run that returned an error: a lost lease or a stop of
// this process leaves the batch to be resumed; anything else fails it.
func (m *Manager) stopped(ctx context.Context, id string, err error) {
	m.mu.Lock()
	killed := m.killed
	m.mu.Unlock()
	switch {
	case killed:
		return
	case errors.Is(context.Cause(ctx), errLeaseLost):
		m.log.Warn("bulk batch lease lost; another replica resumes it", "batch", id)
		return
	case m.ctx.Err() != nil:
		// Shutting down: free the lease for another replica at once.
		if err := m.cfg.DB.ReleaseBatch(context.Background(), id, m.cfg.Replica); err != nil {
			m.log.Warn("bulk: releasing a batch lease", "batch", id, "err", err.Error())
		}
		return
	}
	msg := err.Error()
	if c := issuer.CodeOf(err); c == "" || c == issuer.CodeInternal {
		msg = "the run stopped on an internal error; see the service log"
	}
	m.log.Error("bulk batch failed", "batch", id, "err", err.Error())
	m.finish(id, BatchFailed, msg)
}

func (m *Manager) finish(id, status, msg string) {
	ok, err := m.cfg.DB.FinishBatch(context.Background(), id, m.cfg.Replica, status, msg)
	if err != nil {
		m.log.Error("bulk batch state", "batch", id, "err", err.Error())
	} else if !ok {
		m.log.Warn("bulk batch finished after its lease ended; another replica records its end", "batch", id)
	}
}

// materialize copies a batch's stored input into dir and returns the
// input path for Run (the directory, or its one ZIP).
func (m *Manager) materialize(ctx context.Context, id, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	chunks, err := m.cfg.DB.BatchInputs(ctx, id)
	if err != nil {
		return "", err
	}
	var f *os.File
	cur, zip := "", ""
	closeCur := func() error {
		if f == nil {
			return nil
		}
		err := f.Close()
		f = nil
		return err
	}
	defer closeCur()
	for _, c := range chunks {
		if c.Name != cur {
			if err := closeCur(); err != nil {
				return "", err
			}
			if !validFileName(c.Name) {
				return "", fmt.Errorf("bulk: batch %s: stored input name is not a file name", id)
			}
			cur = c.Name
			if f, err = os.OpenFile(filepath.Join(dir, c.Name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
				return "", err
			}
			if strings.HasSuffix(c.Name, ".zip") {
				zip = filepath.Join(dir, c.Name)
			}
		}
		b, err := m.cfg.DB.BatchInput(ctx, id, c)
		if err != nil {
			return "", err
		}
		if _, err := f.Write(b); err != nil {
			return "", err
		}
	}
	if err := closeCur(); err != nil {
		return "", err
	}
	if zip != "" {
		return zip, nil
	}
	return dir, nil
}

// String is for logs: the id only.
func (s BatchStatus) String() string { return fmt.Sprintf("batch %s (%s)", s.ID, s.Status) }
