// Package e2e holds cross-package tests: the issuer service and the verifier
// library talking over real (loopback TLS) HTTP, as deployed.
package e2e
