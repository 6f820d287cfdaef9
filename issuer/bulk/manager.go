package bulk

import (
	"context"
	"crypto/rand"
	"encoding/base64"
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
)

// Batch states.
const (
	BatchQueued  = "queued"
	BatchRunning = "running"
	BatchDone    = "done"
	BatchFailed  = "failed" // the run itself failed (not a patient): see Error
)

// BatchStatus is what GET /v1/batches/{id} answers.
type BatchStatus struct {
	ID      string    `json:"id"`
	Status  string    `json:"status"`
	Owner   string    `json:"-"` // the actor that submitted it
	Created time.Time `json:"created"`
	Outputs Outputs   `json:"outputs"`
	Phase   string    `json:"phase,omitempty"`
	Total   int       `json:"total"`
	Done    int       `json:"done"`
	Issued  int       `json:"issued"`
	Failed  int       `json:"failed"`
	Cards   int       `json:"cards"`
	Error   string    `json:"error,omitempty"`
}

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	// Dir holds one directory per batch (input and output); it must be
	// protected like the store: it holds PHI.
	Dir    string
	Issuer *issuer.Issuer
	Logger *slog.Logger
	// Workers is passed to Config.Workers.
	Workers int
}

// Manager runs batches submitted through the API in the background, one
// at a time (each uses every core), and keeps their state in Dir so that a
// restarted service resumes unfinished batches (Run's resume: no card
// twice). Batches live in this service's data directory: with several
// replicas, a batch is served by the replica that took it.
type Manager struct {
	cfg    ManagerConfig
	log    *slog.Logger
	queue  chan string
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	live map[string]*BatchStatus // running batch progress
}

// maxQueued bounds the batches waiting to run.
const maxQueued = 64

// NewManager opens Dir, queues every unfinished batch found there and
// starts the runner. Close stops it (a running batch stops and resumes at
// the next start).
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.Issuer == nil || cfg.Dir == "" {
		return nil, errors.New("bulk: ManagerConfig.Issuer and Dir are required")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, queue: make(chan string, maxQueued), live: map[string]*BatchStatus{}}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	ents, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	var pending []string
	for _, e := range ents {
		st, err := m.read(e.Name())
		if err == nil && (st.Status == BatchQueued || st.Status == BatchRunning) {
			pending = append(pending, st.ID)
		}
	}
	if len(pending) > maxQueued {
		pending = pending[:maxQueued] // the rest wait for the next start
	}
	for _, id := range pending {
		m.queue <- id
	}
	m.wg.Add(1)
	go m.loop()
	return m, nil
}

// Close stops the runner and waits for it.
func (m *Manager) Close() error {
	m.cancel()
	m.wg.Wait()
	return nil
}

// ErrQueueFull is returned by Submit when too many batches wait.
var ErrQueueFull = errf(issuer.CodeRateLimited, "too many batches are waiting; retry later")

// Upload is one input file of a submitted batch.
type Upload struct {
	Name string // a base name ending in .ndjson, or .zip for an archive
	Body io.Reader
}

// Submit stores the uploaded files (at most maxBytes in all) as a new
// batch, queues it and returns its status.
func (m *Manager) Submit(owner string, outputs Outputs, files []Upload, maxBytes int64) (BatchStatus, error) {
	i := 0
	return m.SubmitStream(owner, outputs, func() (*Upload, error) {
		if i == len(files) {
			return nil, nil
		}
		i++
		return &files[i-1], nil
	}, maxBytes)
}

// maxUploadFiles caps the files of one batch.
const maxUploadFiles = 64

// SubmitStream is Submit with the files given one at a time by next (nil
// at the end), each read to its end before the next is asked for: a
// multipart upload streams to disk.
func (m *Manager) SubmitStream(owner string, outputs Outputs, next func() (*Upload, error), maxBytes int64) (BatchStatus, error) {
	var raw [16]byte
	rand.Read(raw[:])
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	dir := filepath.Join(m.cfg.Dir, id)
	in := filepath.Join(dir, "in")
	if err := os.MkdirAll(in, 0o700); err != nil {
		return BatchStatus{}, err
	}
	fail := func(err error) (BatchStatus, error) {
		os.RemoveAll(dir)
		return BatchStatus{}, err
	}
	left := maxBytes
	zips, nfiles := 0, 0
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
		if isZip {
			zips++
		}
		out, err := os.OpenFile(filepath.Join(in, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fail(errf(CodeInvalidInput, "file %s twice in the request", name))
		}
		n, err := io.Copy(out, io.LimitReader(f.Body, left+1))
		out.Close()
		if err != nil {
			return fail(err)
		}
		if left -= n; left < 0 {
			return fail(errf(CodeTooLarge, "the batch is over %d bytes", maxBytes))
		}
	}
	if nfiles == 0 {
		return fail(errf(CodeInvalidInput, "no .ndjson file or ZIP in the request"))
	}
	if zips > 0 && nfiles > 1 {
		return fail(errf(CodeInvalidInput, "send one ZIP, or .ndjson files, not both"))
	}
	st := BatchStatus{ID: id, Status: BatchQueued, Owner: owner, Created: time.Now().UTC(), Outputs: outputs}
	if err := m.write(st); err != nil {
		return fail(err)
	}
	select {
	case m.queue <- id:
	default:
		return fail(ErrQueueFull)
	}
	return st, nil
}

// Status returns a batch's status; the owner must match (ErrNotFound
// otherwise, so that ids of other callers' batches are not confirmed).
func (m *Manager) Status(id, owner string) (BatchStatus, error) {
	st, err := m.read(id)
	if err != nil || st.Owner != owner {
		return BatchStatus{}, issuer.ErrNotFound
	}
	m.mu.Lock()
	if l, ok := m.live[id]; ok {
		st.Phase, st.Total, st.Done, st.Issued, st.Failed, st.Cards = l.Phase, l.Total, l.Done, l.Issued, l.Failed, l.Cards
	}
	m.mu.Unlock()
	return st, nil
}

// File returns the path of a finished batch's output file rel
// (results.ndjson, cards/..., qr/..., pdf/...), or ErrNotFound.
func (m *Manager) File(id, owner, rel string) (string, error) {
	st, err := m.Status(id, owner)
	if err != nil {
		return "", err
	}
	if st.Status != BatchDone {
		return "", errf(issuer.CodeNotFound, "batch %s is %s; its files are served when it is done", id, st.Status)
	}
	parts := strings.Split(rel, "/")
	ok := rel == ResultsFile || (len(parts) == 2 && (parts[0] == "cards" || parts[0] == "qr" || parts[0] == "pdf") && validFileName(parts[1]))
	if !ok {
		return "", issuer.ErrNotFound
	}
	p := filepath.Join(m.cfg.Dir, id, "out", filepath.FromSlash(rel))
	if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
		return "", issuer.ErrNotFound
	}
	return p, nil
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

func (m *Manager) read(id string) (BatchStatus, error) {
	var st BatchStatus
	if !validBatchID(id) {
		return st, issuer.ErrNotFound
	}
	b, err := os.ReadFile(filepath.Join(m.cfg.Dir, id, "status.json"))
	if err != nil {
		return st, err
	}
	var disk struct {
		BatchStatus
		Owner string `json:"owner"`
	}
	if err := json.Unmarshal(b, &disk); err != nil {
		return st, err
	}
	st = disk.BatchStatus
	st.Owner = disk.Owner
	return st, nil
}

func (m *Manager) write(st BatchStatus) error {
	b, err := json.Marshal(struct {
		BatchStatus
		Owner string `json:"owner"`
	}{st, st.Owner})
	if err != nil {
		return err
	}
	p := filepath.Join(m.cfg.Dir, st.ID, "status.json")
	if err := writeFileAtomic(p, b); err != nil {
		return err
	}
	return syncDir(filepath.Dir(p))
}

func (m *Manager) loop() {
	defer m.wg.Done()
	for {
		select {
		case <-m.ctx.Done():
			return
		case id := <-m.queue:
			m.runBatch(id)
		}
	}
}

func (m *Manager) runBatch(id string) {
	st, err := m.read(id)
	if err != nil {
		m.log.Error("bulk batch unreadable", "batch", id, "err", err.Error())
		return
	}
	st.Status = BatchRunning
	if err := m.write(st); err != nil {
		m.log.Error("bulk batch state", "batch", id, "err", err.Error())
		return
	}
	live := &BatchStatus{}
	m.mu.Lock()
	m.live[id] = live
	m.mu.Unlock()
	dir := filepath.Join(m.cfg.Dir, id)
	in := filepath.Join(dir, "in")
	if zs, _ := filepath.Glob(filepath.Join(in, "*.zip")); len(zs) == 1 {
		in = zs[0]
	}
	sum, err := Run(m.ctx, Config{Issuer: m.cfg.Issuer, In: in, Out: filepath.Join(dir, "out"), BatchID: id,
		Outputs: st.Outputs, Workers: m.cfg.Workers, Logger: m.log, Actor: st.Owner,
		Progress: func(p Progress) {
			m.mu.Lock()
			live.Phase, live.Total, live.Done, live.Issued, live.Failed, live.Cards = p.Phase, p.Total, p.Done, p.Issued, p.Failed, p.Cards
			m.mu.Unlock()
		}})
	m.mu.Lock()
	delete(m.live, id)
	m.mu.Unlock()
	if m.ctx.Err() != nil {
		return // stopping: stays running, resumed at the next start
	}
	st.Total, st.Done, st.Issued, st.Failed, st.Cards = sum.Total, sum.Total, sum.Issued, sum.Failed, sum.Cards
	if err != nil {
		st.Status = BatchFailed
		if c := issuer.CodeOf(err); c == "" || c == issuer.CodeInternal {
			st.Error = "the run stopped on an internal error; see the service log"
		} else {
			st.Error = err.Error()
		}
		m.log.Error("bulk batch failed", "batch", id, "err", err.Error())
	} else {
		st.Status = BatchDone
		m.log.Info("bulk batch done", "batch", id, "results", sum.Total, "issued", sum.Issued, "failed", sum.Failed)
	}
	if err := m.write(st); err != nil {
		m.log.Error("bulk batch state", "batch", id, "err", err.Error())
	}
}

// String is for logs: the id only.
func (s BatchStatus) String() string { return fmt.Sprintf("batch %s (%s)", s.ID, s.Status) }
