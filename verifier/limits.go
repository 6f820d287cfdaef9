package verifier

// Bounds on untrusted input handled by this package.
const (
	maxDirectoryBytes     = 8 << 20 // a trust directory or trust list
	maxSignatureFileBytes = 4 << 10 // a detached directory signature
	maxDirectoryIssuers   = 10000
	maxKeysPerIssuer      = 100
	maxCRLRids            = 100000
	maxIssuerLen          = 2048
	maxJWKSFetchBytes     = 256 << 10 // a fetched JWKS or DID document
	maxCRLFetchBytes      = 4 << 20   // a fetched revocation list
)

// SignatureSuffix names a directory's detached signature: for a directory
// file or URL X, the signature is read from X + SignatureSuffix.
const SignatureSuffix = ".sig"
