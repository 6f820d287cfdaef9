package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"bogus"}, {"keys"}, {"keys", "retire"}, {"tokens"}, {"serve", "--nope"},
		{"serve", "--production", "--data", t.TempDir()}, {"serve", "--iss", "http://x.example", "--data", t.TempDir()}} {
		err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{})
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error (exit 2)", args, err)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help"}, &out, &out); err != nil || !strings.Contains(out.String(), "Example:") {
		t.Errorf("help: %v", err)
	}
}

func TestKeysAndTokens(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"keys", "rotate", "--data", dir}, &out, &out); err != nil {
		t.Fatal(err)
	}
	kid := strings.TrimSpace(out.String())
	out.Reset()
	if err := run(ctx, []string{"keys", "rotate", "--data", dir}, &out, &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"keys", "retire", kid, "--data", dir}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"keys", "list", "--data", dir}, &out, &out); err != nil || !strings.Contains(out.String(), kid+"\tretired") {
		t.Fatalf("list: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"tokens", "create", "--data", dir, "--scopes", "cards:issue,cards:revoke"}, &out, &out); err != nil || !strings.HasPrefix(out.String(), "shcit_") {
		t.Fatalf("tokens create: %v %q", err, out.String())
	}
	var ue usageError
	if err := run(ctx, []string{"tokens", "create", "--data", dir, "--scopes", "root"}, &out, &out); !errors.As(err, &ue) {
		t.Errorf("bad scope: %v", err)
	}
}

// A kid may begin with "-" (it is base64url): keys retire/compromised must
// take it as the KID, not as a flag.
func TestKeysKidWithLeadingDash(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"keys", "rotate", "--data", dir}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"retire", "compromised"} {
		err := run(context.Background(), []string{"keys", op, "-Xn4Yq0AbCdEfGhIjKlMnOpQrStUvWxYz0123456789a", "--data", dir}, &out, &out)
		if err == nil || strings.Contains(err.Error(), "needs a KID") {
			t.Errorf("keys %s -<kid>: err = %v, want the ring's unknown-kid error", op, err)
		}
		if err := run(context.Background(), []string{"keys", op, "--data", dir}, &out, &out); err == nil || !strings.Contains(err.Error(), "needs a KID") {
			t.Errorf("keys %s without a kid: err = %v", op, err)
		}
	}
}
