// Package errcode is the one coded error shape of every healthcards package.
//
// Every failure that shc, keys, did, verifier, issuer and shl return is an
// [*Error]: a stable, machine-readable [Code], the package that reported it,
// an optional pipeline step, a human-readable detail and an optional cause.
// Each package re-exports the type (shc.Error, keys.Error, … are aliases of
// errcode.Error) and defines its codes and sentinels; the README's error-code
// table is the single registry of codes, and a test keeps the two in step.
//
// One matching rule holds everywhere: errors.Is(err, sentinel) is true when
// err's chain holds an *Error whose Code equals the sentinel's. A sentinel is
// an *Error with a Code and nothing else (see [Sentinel]). A code means one
// thing across the module, so matching ignores the package.
//
// # Security considerations
//
// Messages are shown to callers, CLI users and logs. Detail and causes must
// never carry key material, tokens or PHI beyond what the caller sent; the
// packages that build errors are responsible for that. Codes, not messages,
// are the contract: programs must branch on codes only.
package errcode
