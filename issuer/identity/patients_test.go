package identity_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/identitytest"
	"github.com/healthcards/healthcards/issuer/identity"
)

func TestPatientEnrolment(t *testing.T) {
	s, c := open(t)
	testPatientEnrolment(t, s, c)
}

func TestPostgresPatientEnrolment(t *testing.T) {
	rs, c := replicas(t, 1)
	testPatientEnrolment(t, rs[0], c)
}

// withCookie is a request carrying a session cookie.
func withCookie(name string, ses *identity.Session) *http.Request {
	r := httptest.NewRequest("GET", origin+"/account/", nil)
	r.AddCookie(&http.Cookie{Name: name, Value: ses.Token()})
	return r
}

// A desk enrolment records the evidence (not a number), yields a
// single-use code, signs the patient in with a passkey and reads back
// from the patient cookie; staff and patient sessions do not cross; a
// new enrolment of the same person reuses the account; guardians get
// wards; passkeys are listed and revoked.
func testPatientEnrolment(t *testing.T, s *identity.Service, c *clock) {
	ctx := context.Background()
	for _, bad := range []identity.Enrolment{
		{Name: "", Patient: "pt-1", Evidence: "passport", IAL: "IAL2", By: "acct-staff"},
		{Name: "Pat", Evidence: "passport", IAL: "IAL2", By: "acct-staff"},                                                // neither patient nor wards
		{Name: "Pat", Patient: "pt/1", Evidence: "passport", IAL: "IAL2", By: "acct-staff"},                               // not a FHIR id
		{Name: "Pat", Patient: "pt-1", Evidence: "library-card", IAL: "IAL2", By: "acct-staff"},                           // unknown evidence
		{Name: "Pat", Patient: "pt-1", Evidence: "passport", IAL: "IAL1", By: "acct-staff"},                               // not an enrolment level
		{Name: "Pat", Patient: "pt-1", Evidence: "passport", IAL: "IAL1.2", By: "acct-staff"},                             // no photo ID
		{Name: "Pat", Patient: "pt-1", Evidence: "passport", IAL: "https://evil/IAL2", By: "acct-staff"},                  // another system
		{Name: "Pat", Patient: "pt-1", Evidence: "passport", IAL: "IAL2"},                                                 // who checked?
		{Name: "Pat", Evidence: "passport", IAL: "IAL2", By: "s", Wards: []identity.Ward{{Patient: "pt-2", Name: "Kid"}}}, // no RelatedPerson
	} {
		if _, _, err := s.EnrolPatient(ctx, bad); identity.CodeOf(err) != identity.CodeInvalidEnrolment {
			t.Errorf("EnrolPatient(%+v) = %v, want invalid_enrolment", bad, err)
		}
	}
	a, code, err := s.EnrolPatient(ctx, identity.Enrolment{Name: "Pat Patient", Patient: "pt-1001", Evidence: "passport", IAL: "ial2", By: "acct-staff"})
	if err != nil || len(code) != 14 {
		t.Fatalf("EnrolPatient: %v", err)
	}
	if a.Role != identity.RolePatient || a.Patient != "pt-1001" || a.IAL != "https://smarthealth.cards/ial/IAL2" || a.Evidence != "passport" ||
		a.CheckedBy != "acct-staff" || !a.Proofed.Equal(c.now()) || a.Passkeys != 0 {
		t.Fatalf("account: %+v", a)
	}
	if got, err := s.PatientAccount(ctx, "pt-1001"); err != nil || got.ID != a.ID {
		t.Fatalf("PatientAccount: %+v %v", got, err)
	}
	if exp, open, err := s.OpenCode(ctx, a.ID); err != nil || !open || !exp.Equal(c.now().Add(identity.DefaultCodeTTL)) {
		t.Fatalf("OpenCode: %v %v %v", exp, open, err)
	}
	phone := identitytest.New("desk.example.org", origin)
	ses, err := enrol(t, s, phone, code)
	if err != nil || ses.Account.ID != a.ID || ses.Account.Role != identity.RolePatient {
		t.Fatalf("enrol: %v", err)
	}
	if _, open, _ := s.OpenCode(ctx, a.ID); open {
		t.Fatal("the used code is still open")
	}
	if _, err := enrol(t, s, identitytest.New("desk.example.org", origin), code); identity.CodeOf(err) != identity.CodeInvalidCode {
		t.Fatalf("code reused: %v", err)
	}
	// The patient cookie reads back; the staff cookie helper refuses it.
	if got, err := s.PatientSession(withCookie(identity.PatientCookie, ses)); err != nil || got.Account.Patient != "pt-1001" {
		t.Fatalf("PatientSession: %v", err)
	}
	if _, err := s.StaffSession(withCookie(identity.StaffCookie, ses)); identity.CodeOf(err) != identity.CodeForbidden {
		t.Fatalf("StaffSession of a patient: %v", err)
	}
	if _, err := s.PatientSession(withCookie(identity.StaffCookie, ses)); identity.CodeOf(err) != identity.CodeUnauthenticated {
		t.Fatalf("PatientSession from the staff cookie: %v", err)
	}
	_, scode, _ := s.AddAccount(ctx, "Dana Desk", identity.RoleDesk)
	c.add(time.Minute) // the enrol helper is one client (5 codes a minute)
	staffSes, err := enrol(t, s, identitytest.New("desk.example.org", origin), scode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PatientSession(withCookie(identity.PatientCookie, staffSes)); identity.CodeOf(err) != identity.CodeForbidden {
		t.Fatalf("PatientSession of staff: %v", err)
	}
	if got, err := s.StaffSession(withCookie(identity.StaffCookie, staffSes)); err != nil || got.Account.Role != identity.RoleDesk {
		t.Fatalf("StaffSession: %v", err)
	}

	// A guardian-only account with a ward, then a second ward linked later.
	g, gcode, err := s.EnrolPatient(ctx, identity.Enrolment{Name: "Gil Guardian", Evidence: "driving-licence", IAL: identity.IALSystem + "/IAL1.4", By: "acct-staff",
		Wards: []identity.Ward{{Patient: "pt-1001", RelatedPerson: "rp-1", Name: "Pat Patient"}}})
	if err != nil || g.Patient != "" || g.ID == a.ID {
		t.Fatalf("guardian: %+v %v", g, err)
	}
	c.add(time.Second)
	if err := s.LinkWard(ctx, g.ID, identity.Ward{Patient: "pt-2002", RelatedPerson: "rp-2", Name: "Kim Kid"}); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkWard(ctx, a.ID, identity.Ward{Patient: "pt-1001", RelatedPerson: "rp-9", Name: "Me"}); identity.CodeOf(err) != identity.CodeInvalidEnrolment {
		t.Fatalf("own ward: %v", err)
	}
	if err := s.LinkWard(ctx, staffSes.Account.ID, identity.Ward{Patient: "pt-2002", RelatedPerson: "rp-2", Name: "Kim"}); identity.CodeOf(err) != identity.CodeInvalidEnrolment {
		t.Fatalf("staff ward: %v", err)
	}
	ws, err := s.Wards(ctx, g.ID)
	if err != nil || len(ws) != 2 || ws[0] != (identity.Ward{Patient: "pt-1001", RelatedPerson: "rp-1", Name: "Pat Patient"}) || ws[1].RelatedPerson != "rp-2" {
		t.Fatalf("Wards: %+v %v", ws, err)
	}
	if gs, err := s.Guardians(ctx, "pt-2002"); err != nil || len(gs) != 1 || gs[0].ID != g.ID {
		t.Fatalf("Guardians: %+v %v", gs, err)
	}
	if err := s.UnlinkWard(ctx, g.ID, "pt-1001"); err != nil {
		t.Fatal(err)
	}
	if err := s.UnlinkWard(ctx, g.ID, "pt-1001"); identity.CodeOf(err) != identity.CodeNotFound {
		t.Fatalf("unlink twice: %v", err)
	}
	if ws, _ := s.Wards(ctx, g.ID); len(ws) != 1 || ws[0].Patient != "pt-2002" {
		t.Fatalf("after unlink: %+v", ws)
	}
	gphone := identitytest.New("desk.example.org", origin)
	if _, err := enrol(t, s, gphone, gcode); err != nil {
		t.Fatal(err)
	}

	// A passkey of another account cannot sign this one in, even when it
	// presents this account's user handle.
	gphone.Impersonate(phone)
	if _, err := signIn(t, s, gphone); identity.CodeOf(err) != identity.CodePasskeyFailed {
		t.Fatalf("another account's passkey signed in: %v", err)
	}

	// A second device, then the phone is lost: staff revoke its passkey.
	c.add(time.Minute)
	code2, err := s.NewCode(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	tablet := identitytest.New("desk.example.org", origin)
	if _, err := enrol(t, s, tablet, code2); err != nil {
		t.Fatal(err)
	}
	pks, err := s.Passkeys(ctx, a.ID)
	if err != nil || len(pks) != 2 || pks[0].ID == pks[1].ID {
		t.Fatalf("Passkeys: %+v %v", pks, err)
	}
	if err := s.RevokePasskey(ctx, a.ID, pks[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokePasskey(ctx, g.ID, pks[1].ID); identity.CodeOf(err) != identity.CodeNotFound {
		t.Fatalf("revoking another account's passkey: %v", err)
	}
	if _, err := s.Authenticate(ctx, ses.Token()); identity.CodeOf(err) != identity.CodeUnauthenticated {
		t.Fatalf("session after passkey revocation: %v", err)
	}
	if _, err := signIn(t, s, phone); identity.CodeOf(err) != identity.CodePasskeyFailed {
		t.Fatalf("revoked passkey signed in: %v", err)
	}
	if got, err := signIn(t, s, tablet); err != nil || got.Account.ID != a.ID {
		t.Fatalf("tablet: %v", err)
	}

	// A new desk enrolment of the same person reuses the account, revokes
	// the open code and, asked to, the passkeys.
	_, open1, _ := s.EnrolPatient(ctx, identity.Enrolment{Name: "Pat Patient", Patient: "pt-1001", Evidence: "passport", IAL: "IAL2", By: "acct-staff"})
	a2, code3, err := s.EnrolPatient(ctx, identity.Enrolment{Name: "Pat Q. Patient", Patient: "pt-1001", Evidence: "national-id", IAL: "IAL3", By: "acct-sup", ReplacePasskeys: true})
	if err != nil || a2.ID != a.ID || a2.Name != "Pat Q. Patient" || a2.IAL != identity.IALSystem+"/IAL3" || a2.Evidence != "national-id" || a2.CheckedBy != "acct-sup" || a2.Passkeys != 0 {
		t.Fatalf("re-enrolment: %+v %v", a2, err)
	}
	c.add(time.Minute)
	if _, err := enrol(t, s, identitytest.New("desk.example.org", origin), open1); identity.CodeOf(err) != identity.CodeInvalidCode {
		t.Fatalf("replaced enrolment code: %v", err)
	}
	if _, err := signIn(t, s, tablet); identity.CodeOf(err) != identity.CodePasskeyFailed {
		t.Fatalf("replaced passkey signed in: %v", err)
	}
	newPhone := identitytest.New("desk.example.org", origin)
	if got, err := enrol(t, s, newPhone, code3); err != nil || got.Account.ID != a.ID {
		t.Fatalf("new phone: %v", err)
	}
	// Disabled: no sign-in, and a new enrolment makes a new account.
	if err := s.Disable(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := signIn(t, s, newPhone); identity.CodeOf(err) != identity.CodeAccountDisabled {
		t.Fatalf("disabled sign-in: %v", err)
	}
	if _, err := s.PatientAccount(ctx, "pt-1001"); identity.CodeOf(err) != identity.CodeNotFound {
		t.Fatalf("PatientAccount of a disabled account: %v", err)
	}
	a3, _, err := s.EnrolPatient(ctx, identity.Enrolment{Name: "Pat Patient", Patient: "pt-1001", Evidence: "passport", IAL: "IAL2", By: "acct-staff"})
	if err != nil || a3.ID == a.ID {
		t.Fatalf("enrolment after disable: %+v %v", a3, err)
	}
}

// Two desks enrolling the same new patient at once: one account, every
// enrolment succeeds (the later ones reuse it).
func TestPatientEnrolmentRace(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _, err := s.EnrolPatient(ctx, identity.Enrolment{Name: "Pat", Patient: "pt-7", Evidence: "passport", IAL: "IAL2", By: "s"})
			if err != nil {
				t.Errorf("enrolment %d: %v", i, err)
			}
			ids[i] = a.ID
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		if id != "" {
			seen[id] = true
		}
	}
	if len(seen) != 1 {
		t.Fatalf("accounts for one patient: %v", seen)
	}
}

// The desk's enrolment page redeems staff codes only, the sign-up page
// patient codes only.
func TestEnrolAudience(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	_, scode, _ := s.AddAccount(ctx, "Dana Desk", identity.RoleDesk)
	_, pcode, _ := s.EnrolPatient(ctx, identity.Enrolment{Name: "Pat", Patient: "pt-1", Evidence: "passport", IAL: "IAL2", By: "s"})
	for _, tc := range []struct {
		aud  identity.Audience
		code string
		ok   bool
	}{{identity.StaffOnly, pcode, false}, {identity.PatientsOnly, scode, false}, {identity.StaffOnly, scode, true}, {identity.PatientsOnly, pcode, true}} {
		_, _, err := s.BeginEnrolFor(ctx, tc.aud, tc.code, "c")
		if (err == nil) != tc.ok || (!tc.ok && identity.CodeOf(err) != identity.CodeInvalidCode) {
			t.Errorf("audience %d: %v", tc.aud, err)
		}
	}
}

// A patient's sign-up code lives EnrolmentCodeTTL; staff invitations keep
// CodeTTL.
func TestEnrolmentCodeTTL(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)}
	s, err := identity.Open(context.Background(), identity.Config{Path: t.TempDir() + "/identity.db", RPID: "desk.example.org", Origin: origin,
		EnrolmentCodeTTL: time.Hour, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	a, pcode, _ := s.EnrolPatient(ctx, identity.Enrolment{Name: "Pat", Patient: "pt-1", Evidence: "passport", IAL: "IAL2", By: "s"})
	_, scode, _ := s.AddAccount(ctx, "Dana", identity.RoleDesk)
	if exp, _, _ := s.OpenCode(ctx, a.ID); !exp.Equal(c.now().Add(time.Hour)) {
		t.Fatalf("patient code expires %v", exp)
	}
	c.add(time.Hour + time.Second)
	if _, _, err := s.BeginEnrol(ctx, pcode, "c"); identity.CodeOf(err) != identity.CodeInvalidCode {
		t.Fatalf("patient code after its TTL: %v", err)
	}
	if _, _, err := s.BeginEnrol(ctx, scode, "c"); err != nil {
		t.Fatalf("staff code within CodeTTL: %v", err)
	}
	code2, _ := s.NewCode(ctx, a.ID)
	c.add(59 * time.Minute)
	if _, _, err := s.BeginEnrol(ctx, code2, "c"); err != nil {
		t.Fatalf("new patient code within its TTL: %v", err)
	}
	c.add(2 * time.Minute)
	if _, _, err := s.BeginEnrol(ctx, code2, "c"); identity.CodeOf(err) != identity.CodeInvalidCode {
		t.Fatalf("new patient code after its TTL: %v", err)
	}
}

func TestPostgresPatientEnrolmentRace(t *testing.T) {
	rs, _ := replicas(t, 2)
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _, err := rs[i%2].EnrolPatient(ctx, identity.Enrolment{Name: "Pat", Patient: "pt-7", Evidence: "passport", IAL: "IAL2", By: "s"})
			ids[i], errs[i] = a.ID, err
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, id := range ids {
		if errs[i] != nil {
			t.Errorf("enrolment %d: %v", i, errs[i])
			continue
		}
		seen[id] = true
	}
	if len(seen) != 1 {
		t.Fatalf("accounts for one patient over two replicas: %v", seen)
	}
}

// Public sign-in pages cannot grow the ceremony table without bound: past
// MaxCeremonies new ones are refused until old ones expire.
func TestCeremoniesBounded(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)}
	s, err := identity.Open(context.Background(), identity.Config{Path: t.TempDir() + "/identity.db", RPID: "desk.example.org", Origin: origin,
		MaxCeremonies: 20, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := range 20 {
		if _, _, err := s.BeginSignIn(ctx); err != nil {
			t.Fatalf("ceremony %d: %v", i, err)
		}
	}
	if _, _, err := s.BeginSignIn(ctx); identity.CodeOf(err) != identity.CodeRateLimited {
		t.Fatalf("ceremony 21: %v", err)
	}
	c.add(5*time.Minute + time.Second)
	if _, _, err := s.BeginSignIn(ctx); err != nil {
		t.Fatalf("after the old ones expired: %v", err)
	}
}
