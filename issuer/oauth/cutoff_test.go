package oauth_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/issuer/identity"
)

// api calls the lab API (/v1/enrolments) with the stack's API token.
func (s *stack) api(method, path, body string) int {
	s.t.Helper()
	r, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+s.apiToken)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.web.Do(r)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// An account cut off at the desk (disabled, a passkey revoked, a lost
// phone re-enrolled) loses its apps at once: the access token is refused
// and the refresh token is invalid_grant (identity.Config.OnCutOff wired
// to Store.WithdrawAccount by issuer/service).
func TestCutOffWithdrawsGrants(t *testing.T) {
	s := start(t, "sqlite", "")
	ctx := context.Background()
	const patient = "pt-1001" // the sample's patient, with cards
	for i, cut := range []struct {
		name string
		do   func(acct, passkey string) int
		want int
	}{
		{"lost phone", func(string, string) int {
			return s.api("POST", "/v1/enrolments", `{"patientId":"`+patient+`","evidence":"passport","ial":"IAL2","replacePasskeys":true}`)
		}, http.StatusCreated},
		{"revoke passkey", func(acct, pk string) int { return s.api("DELETE", "/v1/enrolments/"+acct+"/passkeys/"+pk, "") }, http.StatusNoContent},
		{"disable", func(acct, _ string) int { return s.api("DELETE", "/v1/enrolments/"+acct+"/account", "") }, http.StatusNoContent},
	} {
		if i > 0 { // a new phone for the next case
			s.cookie, s.csrf = s.patient(identity.Enrolment{Name: "Pat Example", Patient: patient, Evidence: "passport", IAL: "IAL2", By: "staff-1"})
		}
		tok := s.tokens(labType)
		if st, body := s.issue(tok.AccessToken, patient, labType); st != http.StatusOK {
			t.Fatalf("%s: before: %d %s", cut.name, st, body)
		}
		a, err := s.ids.PatientAccount(ctx, patient)
		if err != nil {
			t.Fatal(err)
		}
		pks, err := s.ids.Passkeys(ctx, a.ID)
		if err != nil || len(pks) == 0 {
			t.Fatalf("passkeys: %v %v", pks, err)
		}
		if st := cut.do(a.ID, pks[len(pks)-1].ID); st != cut.want {
			t.Fatalf("%s: %d", cut.name, st)
		}
		if st, _ := s.issue(tok.AccessToken, patient, labType); st != http.StatusUnauthorized {
			t.Errorf("%s: the access token after the cut-off: %d, want 401", cut.name, st)
		}
		st, m := s.refresh(tok.RefreshToken)
		oauthErr(t, st, m, http.StatusBadRequest, "invalid_grant")
		if gs, err := s.oa.Grants(ctx, a.ID); err != nil || len(gs) != 0 {
			t.Errorf("%s: grants left: %d %v", cut.name, len(gs), err)
		}
	}
}
