package verifier

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/healthcards/healthcards/shc"
)

// crl is a parsed Card Revocation List (REV-4, REV-5).
type crl struct {
	kid    string
	method string
	ctr    int64
	// rids maps a revoked rid to the time before which cards are revoked:
	// +Inf for a plain rid (every card), the timestamp for "rid.TIMESTAMP".
	rids map[string]float64
}

type wireCRL struct {
	Kid    string   `json:"kid"`
	Method string   `json:"method"`
	Ctr    *flexInt `json:"ctr"`
	Rids   []string `json:"rids"`
}

func parseCRL(data []byte) (*crl, error) {
	if len(data) > MaxCRLBytes {
		return nil, fmt.Errorf("revocation list of %d bytes exceeds %d", len(data), MaxCRLBytes)
	}
	var w wireCRL
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("revocation list is not JSON: %w", err)
	}
	return checkCRL(w)
}

func checkCRL(w wireCRL) (*crl, error) {
	if w.Kid == "" {
		return nil, fmt.Errorf("revocation list has no kid (REV-4)")
	}
	if w.Ctr == nil {
		return nil, fmt.Errorf("revocation list has no ctr (REV-4)")
	}
	if len(w.Rids) > maxCRLRids {
		return nil, fmt.Errorf("revocation list has %d rids, limit %d", len(w.Rids), maxCRLRids)
	}
	c := &crl{kid: w.Kid, method: w.Method, ctr: int64(*w.Ctr), rids: make(map[string]float64, len(w.Rids))}
	for _, r := range w.Rids {
		rid, ts := r, math.Inf(1)
		if i := strings.IndexByte(r, '.'); i >= 0 {
			t, err := strconv.ParseFloat(r[i+1:], 64)
			if err != nil || math.IsNaN(t) || math.IsInf(t, 0) || t < 0 {
				return nil, fmt.Errorf("revocation list entry %.40q: bad timestamp (REV-5)", r)
			}
			rid, ts = r[:i], t
		}
		if !shc.ValidRID(rid) {
			return nil, fmt.Errorf("revocation list entry %.40q: bad rid (REV-1)", r)
		}
		if old, ok := c.rids[rid]; !ok || ts > old {
			c.rids[rid] = ts
		}
	}
	return c, nil
}

// revokes reports whether the list revokes a card with this rid and nbf.
// A timestamped entry revokes only cards issued strictly before the
// timestamp; nbf is compared as the float it is, never rounded up (REV-5,
// REV-9).
func (c *crl) revokes(rid string, nbf shc.NumericDate) (bool, string) {
	ts, ok := c.rids[rid]
	if !ok {
		return false, ""
	}
	if math.IsInf(ts, 1) {
		return true, fmt.Sprintf("rid %s is revoked (CRL ctr %d)", rid, c.ctr)
	}
	if float64(nbf) < ts {
		return true, fmt.Sprintf("rid %s is revoked for cards issued before %s; nbf %s is earlier (CRL ctr %d)",
			rid, strconv.FormatFloat(ts, 'f', -1, 64), strconv.FormatFloat(float64(nbf), 'f', -1, 64), c.ctr)
	}
	return false, fmt.Sprintf("rid %s is listed only for cards issued before %s; this card's nbf %s is not earlier",
		rid, strconv.FormatFloat(ts, 'f', -1, 64), strconv.FormatFloat(float64(nbf), 'f', -1, 64))
}
