package bulk

import (
	"fmt"

	"github.com/healthcards/healthcards/errcode"
	"github.com/healthcards/healthcards/issuer"
)

// Codes of this package, beside the issuer's (issuer.CodeMissingPatient,
// issuer.CodeUnresolvedRef, issuer.CodeCardTooLargeForQR, ...), which
// results.ndjson carries unchanged: a bulk card fails as a single card would.
const (
	CodeInvalidInput      issuer.Code = "invalid_input"       // the input is not a directory or ZIP of NDJSON files
	CodeInvalidRecord     issuer.Code = "invalid_record"      // a line is not a FHIR resource bulk issuing can place
	CodeDuplicateRecord   issuer.Code = "duplicate_record"    // a Patient or supporting resource id appears twice
	CodeUnknownCodeSystem issuer.Code = "unknown_code_system" // a result or dose coded only in a system the issuer does not know
	CodeBatchMismatch     issuer.Code = "batch_mismatch"      // the output directory belongs to another batch or input
	CodeTooLarge                      = errcode.TooLarge      // a record over MaxRecordBytes
)

const pkg = "bulk"

// Sentinels for errors.Is.
var (
	ErrInvalidInput  = errcode.Sentinel(pkg, CodeInvalidInput)
	ErrBatchMismatch = errcode.Sentinel(pkg, CodeBatchMismatch)
)

func errf(code issuer.Code, format string, args ...any) *issuer.Error {
	return &issuer.Error{Pkg: pkg, Code: code, Msg: fmt.Sprintf(format, args...)}
}

func outcome(code issuer.Code, msg string) *issuer.OperationOutcome {
	o := issuer.Outcome(errf(code, "%s", msg))
	return &o
}
