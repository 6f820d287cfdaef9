package storetest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/healthcards/healthcards/issuer/store"
)

// CrashKid is the key id the crash test revokes under.
const CrashKid = "crashkid"

const (
	crashStartEnv = "HEALTHCARDS_STORETEST_CRASH_START"
	ackPrefix     = "ACK "
)

// CrashChildStart reports whether this process is a crash-test child, and
// the first entry number it must use.
func CrashChildStart() (start int, ok bool) {
	v := os.Getenv(crashStartEnv)
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// CrashChild is the child side of the crash test: it revokes entries
// start, start+1, … one per Revoke, and after each Revoke returns writes
// "ACK <n> <ctr>" to w (unbuffered) until it is killed or ctx ends.
func CrashChild(ctx context.Context, s store.Store, start int, w io.Writer) error {
	for i := start; i < start+1_000_000; i++ {
		ctr, err := s.Revoke(ctx, []store.RevocationEntry{{Kid: CrashKid, Entry: crashEntry(i)}},
			store.Event{Actor: "crash-test", Action: "revoke"})
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "%s%d %d\n", ackPrefix, i, ctr); err != nil {
			return err
		}
	}
	return nil
}

func crashEntry(i int) string { return fmt.Sprintf("c%07d", i) }

// Crash runs rounds of: start child (a command that re-executes the test
// binary and calls CrashChild when CrashChildStart reports true), read its
// acknowledgements, SIGKILL it in the middle of its burst, then reopen the
// store and check that every acknowledged revocation is in the CRL, that
// the counter is at least the last acknowledged one, and that the counter
// and the entries moved together (one entry and one increment per Revoke).
func Crash(t *testing.T, rounds int, child func(start int) *exec.Cmd, reopen func(t *testing.T) store.Store) {
	t.Helper()
	next := 0
	var acked []int
	var lastCtr int64
	for round := range rounds {
		cmd := child(next)
		cmd.Env = append(cmd.Environ(), fmt.Sprintf("%s=%d", crashStartEnv, next))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start child: %v", err)
		}
		// Kill after a different number of acknowledgements each round.
		killAfter := 40 + 70*round
		lines := make(chan string)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		got := 0
		timeout := time.After(60 * time.Second)
	read:
		for got < killAfter {
			select {
			case line, ok := <-lines:
				if !ok {
					break read
				}
				rest, isAck := strings.CutPrefix(line, ackPrefix)
				if !isAck {
					continue
				}
				var n int
				var ctr int64
				if _, err := fmt.Sscanf(rest, "%d %d", &n, &ctr); err != nil {
					cmd.Process.Kill()
					t.Fatalf("bad child line %q", line)
				}
				if ctr <= lastCtr {
					cmd.Process.Kill()
					t.Fatalf("acknowledged counter %d after %d: not increasing", ctr, lastCtr)
				}
				acked = append(acked, n)
				lastCtr = ctr
				next = n + 1
				got++
			case <-timeout:
				cmd.Process.Kill()
				t.Fatalf("round %d: child acknowledged %d revocations in 60s", round, got)
			}
		}
		// SIGKILL while the child is still revoking: no clean shutdown.
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill child: %v", err)
		}
		for range lines { // drain what the child wrote before it died
		}
		err = cmd.Wait()
		if got < killAfter {
			t.Fatalf("round %d: child exited after %d acknowledgements: %v", round, got, err)
		}
		// Entries the child may have committed without acknowledging: the
		// next round continues after them.
		next += 1000
	}

	s := reopen(t)
	defer s.Close()
	crl, err := s.CRL(t.Context(), CrashKid)
	if err != nil {
		t.Fatalf("CRL after crash: %v", err)
	}
	if crl.Ctr < lastCtr {
		t.Errorf("counter after crash = %d, below the last acknowledged %d", crl.Ctr, lastCtr)
	}
	for _, n := range acked {
		if !slices.Contains(crl.RIDs, crashEntry(n)) {
			t.Errorf("acknowledged revocation %s lost in the crash", crashEntry(n))
		}
	}
	if int64(len(crl.RIDs)) != crl.Ctr-1 {
		t.Errorf("%d entries but counter %d: counter and entries did not commit together", len(crl.RIDs), crl.Ctr)
	}
	t.Logf("%d rounds, %d acknowledged revocations, counter %d after the crashes", rounds, len(acked), crl.Ctr)
}
