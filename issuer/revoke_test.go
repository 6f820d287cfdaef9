package issuer

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// Revoking by patient with no time given revokes only the cards issued up
// to now (REV-5 "rid.T", T the next whole second), and a card issued in the
// same second afterwards is dated T, so a verifier (nbf < T revoked) keeps
// it valid. All gives the bare rid.
func TestRevokeDefaultTimestampForm_REV5(t *testing.T) {
	f := newFixture(t) // clock fixed at testNow = …:00.500
	ctx := context.Background()
	bundle := readTestdata(t, "lab-bundle.json")
	before, err := f.is.IssueBundle(ctx, bundle, IssueOptions{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.is.Revoke(ctx, RevokeRequest{PatientID: "pat-1001", Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	T := testNow.Unix() + 1
	want := RID(testSecret, f.key.KeyID(), "pat-1001") + "." + strconv.FormatInt(T, 10)
	if len(res.Entries) != 1 || res.Entries[0].Entry != want {
		t.Fatalf("entries %+v, want %s", res.Entries, want)
	}
	if got := before[0].IssuedAt.UnixMilli(); got >= T*1000 {
		t.Fatalf("card issued before the revocation has nbf %d ms, not before T", got)
	}
	after, err := f.is.IssueBundle(ctx, bundle, IssueOptions{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if got := after[0].IssuedAt; !got.Equal(time.Unix(T, 0)) {
		t.Fatalf("card issued after the revocation in the same second: nbf %v, want %v (not before T)", got, time.Unix(T, 0))
	}
	res, err = f.is.Revoke(ctx, RevokeRequest{PatientID: "pat-1001", All: true, Actor: "test"})
	if err != nil || res.Entries[0].Entry != RID(testSecret, f.key.KeyID(), "pat-1001") {
		t.Fatalf("All: %+v %v, want the bare rid", res, err)
	}
	at := testNow
	if _, err := f.is.Revoke(ctx, RevokeRequest{PatientID: "pat-1001", All: true, Before: &at}); CodeOf(err) != CodeInvalidRevocation {
		t.Fatalf("All with Before: %v", err)
	}
}

// The card's Patient keeps only the IAL codings of meta.security (MIN-2:
// a meta holding only security), so verifiers can show how the lab checked
// the identity; other meta and other security codings are dropped.
func TestNarrowPatientKeepsIAL_MIN2(t *testing.T) {
	raw := []byte(`{"resourceType":"Patient","id":"p","meta":{"versionId":"3","security":[{"system":"https://smarthealth.cards/ial","code":"IAL1.4"},{"system":"http://other","code":"R"}]},"name":[{"family":"X"}],"birthDate":"2000-01-01"}`)
	got, err := narrowPatient(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Patient","id":"p","name":[{"family":"X"}],"birthDate":"2000-01-01","meta":{"security":[{"system":"https://smarthealth.cards/ial","code":"IAL1.4"}]}}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	got, _ = narrowPatient([]byte(`{"resourceType":"Patient","id":"p","meta":{"versionId":"3"}}`), nil)
	if string(got) != `{"resourceType":"Patient","id":"p"}` {
		t.Fatalf("meta without IAL kept: %s", got)
	}
}
