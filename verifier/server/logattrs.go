package server

import (
	"log/slog"

	"github.com/healthcards/healthcards/verifier"
)

const levelInfo = slog.LevelInfo

func strAttr(k, v string) slog.Attr              { return slog.String(k, v) }
func intAttr(k string, v int) slog.Attr          { return slog.Int(k, v) }
func attrStrings(k string, v []string) slog.Attr { return slog.Any(k, v) }

// maxLoggedCodes bounds the reason codes written in one log line.
const maxLoggedCodes = 5

// firstCodes returns the first maxLoggedCodes non-empty codes.
func firstCodes(codes []string) []string {
	out := make([]string, 0, min(len(codes), maxLoggedCodes))
	for _, c := range codes {
		if c == "" {
			continue
		}
		if len(out) == maxLoggedCodes {
			break
		}
		out = append(out, c)
	}
	return out
}

// verdictCounts logs how many cards got each verdict.
func verdictCounts(verdicts []string) slog.Attr {
	var ok, untrusted, unable, invalid int
	for _, v := range verdicts {
		switch verifier.Verdict(v) {
		case verifier.VerdictVerified:
			ok++
		case verifier.VerdictUntrusted:
			untrusted++
		case verifier.VerdictUnableToCheck:
			unable++
		default:
			invalid++
		}
	}
	return slog.Group("verdicts", slog.Int("verified", ok), slog.Int("untrusted", untrusted), slog.Int("unable_to_check", unable), slog.Int("invalid", invalid))
}
