package bulk_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/pgtest"
	"github.com/healthcards/healthcards/issuer/bulk"
	"github.com/healthcards/healthcards/issuer/store/postgres"
	"github.com/healthcards/healthcards/issuer/store/sqlstore"
	"github.com/healthcards/healthcards/shl/host"
	shlsql "github.com/healthcards/healthcards/shl/sqlstore"
)

// benchPatients is the batch size of the end-to-end benchmarks.
const benchPatients = 1000

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchStores opens a SQLite or PostgreSQL issuer store and link store
// for a benchmark (PostgreSQL skips without the test server).
func benchStores(b *testing.B, kind string) (*sqlstore.Store, host.Store) {
	dir := b.TempDir()
	if kind == "sqlite" {
		st := openSQLite(b, filepath.Join(dir, "store"))
		ls, err := shlsql.OpenSQLite(context.Background(), filepath.Join(dir, "links.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ls.Close() })
		return st, ls
	}
	dsn := pgtest.FreshSchema(b)
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ls, err := shlsql.OpenPostgres(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ls.Close() })
	return st, ls
}

// runManagerBatch submits a batch of benchPatients to a Manager and waits
// for it; it returns the batch status.
func runManagerBatch(b *testing.B, m *bulk.Manager, in string, o bulk.Outputs) bulk.BatchStatus {
	var files []bulk.Upload
	ents, _ := os.ReadDir(in)
	for _, e := range ents {
		f, err := os.Open(filepath.Join(in, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		files = append(files, bulk.Upload{Name: e.Name(), Body: f})
	}
	ctx := context.Background()
	st, err := m.Submit(ctx, "bench", o, files, 1<<30)
	if err != nil {
		b.Fatal(err)
	}
	for {
		st, err = m.Status(ctx, st.ID, "bench")
		if err != nil {
			b.Fatal(err)
		}
		if st.Status == bulk.BatchDone || st.Status == bulk.BatchFailed {
			if st.Status == bulk.BatchFailed {
				b.Fatal(st.Error)
			}
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkBatch compares a batch run by the Manager (results in the
// database, no files) with the same batch run by bulk.Run into a directory
// (results.ndjson and files synced), cards only, on SQLite and PostgreSQL:
// cards per CPU-second of this process (the database server's CPU is not
// counted).
//
//	go test ./issuer/bulk -run '^$' -bench Batch -benchtime 1x
func BenchmarkBatch(b *testing.B) {
	in := b.TempDir()
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: benchPatients, Seed: 9}); err != nil {
		b.Fatal(err)
	}
	for _, kind := range []string{"sqlite", "postgres"} {
		for _, mode := range []string{"dir", "db", "db+link"} {
			b.Run(kind+"/"+mode, func(b *testing.B) {
				for range b.N {
					st, links := benchStores(b, kind)
					var m *bulk.Manager
					newManager(b, st, links, time.Now, &m, func(*bulk.Manager, int) {})
					cpu0 := cpuTime()
					var cards int
					switch mode {
					case "dir":
						sum, err := bulk.Run(context.Background(), bulk.Config{Issuer: replicaIssuer(b, st), In: in, Out: b.TempDir(), BatchID: "bench"})
						if err != nil {
							b.Fatal(err)
						}
						cards = sum.Cards
					default:
						s := runManagerBatch(b, m, in, bulk.Outputs{Card: true, Link: mode == "db+link"})
						cards = s.Cards
					}
					cpu := cpuTime() - cpu0
					b.ReportMetric(float64(cards)/cpu.Seconds(), "cards/CPU-s")
				}
			})
		}
	}
}

// BenchmarkRenderFile is what a download costs when files are rendered
// from the stored cards instead of kept: one patient's PDF (A4), QR PNG,
// link QR and card file through Manager.File, with the file's size.
//
//	go test ./issuer/bulk -run '^$' -bench RenderFile -benchmem
func BenchmarkRenderFile(b *testing.B) {
	in := b.TempDir()
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: 3, Seed: 9}); err != nil {
		b.Fatal(err)
	}
	st, links := benchStores(b, "sqlite")
	var m *bulk.Manager
	newManager(b, st, links, time.Now, &m, func(*bulk.Manager, int) {})
	s := runManagerBatch(b, m, in, bulk.Outputs{Card: true, PNG: true, PDF: true, Link: true})
	var res bytes.Buffer
	if err := m.Results(context.Background(), s.ID, "bench", &res); err != nil {
		b.Fatal(err)
	}
	line := float64(res.Len()) / float64(s.Done)
	for _, f := range [][2]string{{"pdf", "pdf/p0000000.pdf"}, {"png", "qr/p0000000-1.png"}, {"link-png", "qr/p0000000-link.png"}, {"card", "cards/p0000000.smart-health-card"}} {
		name, f := f[0], f[1]
		b.Run(name, func(b *testing.B) {
			var n int
			for range b.N {
				data, err := m.File(context.Background(), s.ID, "bench", f)
				if err != nil {
					b.Fatal(err)
				}
				n = len(data)
			}
			b.ReportMetric(float64(n), "bytes/file")
			b.ReportMetric(line, "result-line-bytes")
		})
	}
}
