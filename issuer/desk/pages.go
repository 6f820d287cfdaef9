package desk

import (
	"html/template"
	"strings"

	"github.com/healthcards/healthcards/issuer/identity"
)

var pages = template.Must(template.New("desk").Funcs(template.FuncMap{
	"dict": func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	},
	"passkeyJS": func() template.JS { return template.JS(identity.PasskeyScript) },
	"dict2": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
	// signupPage is the sign-up address without the code (the code is
	// shown on its own).
	"signupPage": func(u string) string { s, _, _ := strings.Cut(u, "#"); return s },
	"err": func(f *Form, k string) string {
		if f == nil {
			return ""
		}
		return f.Errors[k]
	},
}).Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · {{.Lab}}</title>
<style nonce="{{.Nonce}}">
:root{--fg:#111;--bg:#fff;--accent:#0b4f9c;--err:#a4000f;--muted:#444}
*{box-sizing:border-box}body{margin:0;font:17px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;padding:.6rem 1rem;background:#0b2545;color:#fff}
header a,header button{color:#fff}main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}a{color:var(--accent)}
:focus-visible{outline:3px solid #f5a300;outline-offset:2px}
label{display:block;font-weight:600;margin:.8rem 0 .2rem}input,select{font:inherit;width:100%;padding:.55rem;border:2px solid #555;border-radius:4px;background:#fff;color:#111}
input[aria-invalid=true],select[aria-invalid=true]{border-color:var(--err)}
.hint{color:var(--muted);font-size:.9rem}.error{color:var(--err);font-weight:600;margin:.2rem 0}
fieldset{border:1px solid #888;border-radius:6px;margin:1rem 0;padding:.5rem 1rem 1rem}legend{font-weight:700;padding:0 .3rem}
.radio label{display:flex;gap:.5rem;font-weight:400;margin:.3rem 0}.radio input{width:auto}
button,.button{font:inherit;font-weight:700;padding:.7rem 1.2rem;border:0;border-radius:6px;background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:#333}.danger{background:var(--err)}
.grid{display:grid;grid-template-columns:1fr;gap:0 1.5rem}
@media (min-width:48rem){.grid{grid-template-columns:1fr 1fr}}
.qr{display:block;width:min(90vw,26rem);height:auto;image-rendering:pixelated;margin:1rem auto;border:8px solid #fff;outline:1px solid #ccc}
.actions{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
pre{white-space:pre-wrap;word-break:break-all;background:#f3f3f3;padding:.5rem;font-size:.8rem}
.passcode{font-size:2rem;font-weight:800;letter-spacing:.2em}
h2{font-size:1.25rem;margin:1.5rem 0 .5rem}form.inline{display:inline}dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dl.facts dt{font-weight:600}dl.facts dd{margin:0}
table{border-collapse:collapse;width:100%;margin:1rem 0}caption{text-align:left;font-weight:700;padding:.3rem 0}
th,td{border-bottom:1px solid #bbb;padding:.4rem;text-align:left;vertical-align:top}
@media (max-width:48rem){table,thead,tbody,tr,th,td{display:block}thead{position:absolute;left:-9999px}tr{border:1px solid #bbb;margin:.5rem 0}}
</style></head><body>
<header><strong>{{.Lab}} · front desk</strong>{{with .Session}}<span>{{.Account.Name}} ({{.Account.Role}})</span>
<form method="post" action="/desk/signout"><input type="hidden" name="csrf" value="{{.CSRF}}"><button class="secondary">Sign out</button></form>{{end}}</header>
<main id="main">{{end}}

{{define "foot"}}</main></body></html>{{end}}

{{define "message"}}{{template "head" .}}<h1>{{.Title}}</h1><p role="alert">{{.Message}}</p>
<p>{{if .SignIn}}<a class="button" href="/desk/signin">Sign in</a>{{else if .Back}}<a href="{{.Back}}">Back to the patient</a>{{else}}<a href="/desk/">Back to the desk</a>{{end}}</p>{{template "foot" .}}{{end}}

{{define "home"}}{{template "head" .}}<h1>Front desk</h1>
<div class="actions"><a class="button" href="/desk/issue">Enter a result and issue a card</a>{{if .CanAudit}} <a class="button secondary" href="/desk/audit">Audit trail</a>{{end}}</div>
<form method="get" action="/desk/find"><fieldset><legend>Find a patient by name and birth date</legend>
<label for="ff">Family name (or its beginning)</label><input id="ff" name="family" autocomplete="off">
<label for="fg">Given name (or its beginning)</label><input id="fg" name="given" autocomplete="off">
<label for="fb">Birth date</label><input id="fb" name="birthDate" type="date" autocomplete="off">
<div class="actions"><button>Find</button></div></fieldset></form>
<form method="get" action="/desk/patient"><fieldset><legend>Find a patient by lab patient id</legend>
<label for="pid">Lab patient id</label><input id="pid" name="id" required autocomplete="off">
<div class="actions"><button>Show the patient</button></div></fieldset></form>
{{if .CanRevoke}}<form method="post" action="/desk/revoke"><fieldset><legend>Revoke a patient's cards</legend>
<input type="hidden" name="csrf" value="{{.Session.CSRF}}">
<label for="rp">Lab patient id</label><input id="rp" name="patientId" required autocomplete="off">
<p class="hint">Revokes the cards issued until now (a correction's new card stays valid).</p>
<button class="danger">Revoke</button></fieldset></form>{{end}}
{{template "foot" .}}{{end}}

{{define "webauthn"}}<script nonce="{{.Nonce}}">{{passkeyJS}}</script>{{end}}

{{define "signin"}}{{template "head" .}}<h1>Sign in</h1>
{{with .Message}}<p class="error" role="alert">{{.}}</p>{{end}}
<p>Use the passkey on this device (fingerprint, face or screen lock). No password.</p>
<button id="go" type="button">Sign in with a passkey</button>
<p id="status" role="status" aria-live="polite"></p>
<p class="hint">New here? <a href="/desk/enrol">Set up your passkey with your invitation code</a>.</p>
{{template "webauthn" .}}<script nonce="{{.Nonce}}">
document.getElementById('go').addEventListener('click',async()=>{try{say('Waiting for your passkey…');
const r=await passkeySignIn('/desk/signin/begin','/desk/signin/finish');location.href=r.next}catch(e){say(e.message)}});
</script>{{template "foot" .}}{{end}}

{{define "enrol"}}{{template "head" .}}<h1>Set up your passkey</h1>
<form id="f"><label for="code">Invitation code</label>
<p class="hint" id="code-hint">The code you were given, like 7K2M-9QXD-4HRT. It works once.</p>
<input id="code" name="code" autocomplete="one-time-code" autocapitalize="characters" aria-describedby="code-hint" required>
<div class="actions"><button>Create my passkey</button></div></form>
<p id="status" role="status" aria-live="polite"></p>
{{template "webauthn" .}}<script nonce="{{.Nonce}}">
document.getElementById('f').addEventListener('submit',async ev=>{ev.preventDefault();try{say('Checking the code…');
const r=await passkeyRegister('/desk/enrol/begin','/desk/enrol/finish',{code:document.getElementById('code').value});location.href=r.next}catch(e){say(e.message)}});
</script>{{template "foot" .}}{{end}}

{{define "field"}}<label for="{{.id}}">{{.label}}</label>{{with .hint}}<p class="hint" id="{{$.id}}-hint">{{.}}</p>{{end}}
{{with .error}}<p class="error" id="{{$.id}}-err">{{.}}</p>{{end}}{{end}}

{{define "issue"}}{{template "head" .}}<h1>Enter a result</h1>
{{with err .Form "form"}}<p class="error" role="alert">{{.}}</p>{{end}}
{{if .Form.Errors}}{{if not (err .Form "form")}}<p class="error" role="alert">Please correct the fields marked below.</p>{{end}}{{end}}
<form method="post" action="/desk/issue" novalidate><input type="hidden" name="csrf" value="{{.Session.CSRF}}">
<fieldset><legend>Patient</legend><div class="grid">
<div>{{template "field" (dict "id" "given" "label" "Given name(s)" "error" (err .Form "given"))}}
<input id="given" name="given" value="{{.Form.Given}}" autocomplete="off" {{if err .Form "given"}}aria-invalid="true" aria-describedby="given-err"{{end}}></div>
<div>{{template "field" (dict "id" "family" "label" "Family name" "error" (err .Form "family"))}}
<input id="family" name="family" value="{{.Form.Family}}" autocomplete="off" {{if err .Form "family"}}aria-invalid="true" aria-describedby="family-err"{{end}}></div>
<div>{{template "field" (dict "id" "birthDate" "label" "Birth date" "error" (err .Form "birthDate"))}}
<input id="birthDate" name="birthDate" type="date" value="{{.Form.BirthDate}}" {{if err .Form "birthDate"}}aria-invalid="true" aria-describedby="birthDate-err"{{end}}></div>
<div>{{template "field" (dict "id" "patientId" "label" "Lab patient id" "error" (err .Form "patientId"))}}
<input id="patientId" name="patientId" value="{{.Form.PatientID}}" autocomplete="off" {{if err .Form "patientId"}}aria-invalid="true" aria-describedby="patientId-err"{{end}}></div>
<div>{{template "field" (dict "id" "contact" "label" "Contact (optional)" "hint" "E-mail or phone, to reach the patient about this result." "error" (err .Form "contact"))}}
<input id="contact" name="contact" value="{{.Form.Contact}}" autocomplete="off" aria-describedby="contact-hint{{if err .Form "contact"}} contact-err{{end}}" {{if err .Form "contact"}}aria-invalid="true"{{end}}></div>
</div>
<fieldset class="radio"><legend>How was the identity checked?</legend>{{with err .Form "identity"}}<p class="error" id="identity-err">{{.}}</p>{{end}}
{{range .Checks}}<label><input type="radio" name="identity" value="{{.Value}}" {{if eq .Value $.Form.Identity}}checked{{end}}> {{.Label}}{{if .IAL}} <span class="hint">({{.IAL}})</span>{{end}}</label>{{end}}
</fieldset></fieldset>
<fieldset><legend>Test</legend><div class="grid">
<div>{{template "field" (dict "id" "test" "label" "Test" "error" (err .Form "test"))}}
<select id="test" name="test" {{if err .Form "test"}}aria-invalid="true" aria-describedby="test-err"{{end}}><option value="">Choose…</option>
{{range .Groups}}<optgroup label="{{.Label}}">{{range .Tests}}<option value="{{.Code}}" {{if eq .Code $.Form.Test}}selected{{end}}>{{.Display}}</option>{{end}}</optgroup>{{end}}</select>
<details><summary>LOINC codes</summary><ul>{{range .Groups}}{{range .Tests}}<li>{{.Code}}: {{.Display}}</li>{{end}}{{end}}</ul></details></div>
<div>{{template "field" (dict "id" "specimen" "label" "Specimen" "error" (err .Form "specimen"))}}
<select id="specimen" name="specimen" {{if err .Form "specimen"}}aria-invalid="true" aria-describedby="specimen-err"{{end}}><option value="">Choose…</option>
{{range .Specimens}}<option value="{{.Code}}" {{if eq .Code $.Form.Specimen}}selected{{end}}>{{.Display}}</option>{{end}}</select></div>
<div>{{template "field" (dict "id" "collected" "label" "Collected at" "error" (err .Form "collected"))}}
<input id="collected" name="collected" type="datetime-local" value="{{.Form.Collected}}" {{if err .Form "collected"}}aria-invalid="true" aria-describedby="collected-err"{{end}}></div>
</div>
<fieldset class="radio"><legend>Result</legend>{{with err .Form "result"}}<p class="error" id="result-err">{{.}}</p>{{end}}
{{range .Results}}<label><input type="radio" name="result" value="{{.Value}}" {{if eq .Value $.Form.Result}}checked{{end}}> {{.Display}}</label>{{end}}
</fieldset><p class="hint">Performer: {{.Lab}}</p></fieldset>
<div class="actions"><button>Issue the card</button></div></form>
{{template "foot" .}}{{end}}

{{define "issued"}}{{template "head" .}}<h1>Card issued for {{.Name}}</h1>
<p>Let the patient scan this code with their phone's wallet or camera.</p>
<img class="qr" src="/v1/cards/{{.Card.ID}}.png?scale=8" alt="SMART Health Card QR code for {{.Name}}">
<div class="actions">
<a class="button" href="/cards/{{.Card.ID}}/print?paper=A4">Print (A4)</a>
<a class="button" href="/cards/{{.Card.ID}}/print?paper=letter">Print (Letter)</a>
<a class="button" href="/v1/cards/{{.Card.ID}}.smart-health-card" download>Download .smart-health-card</a>
</div>
{{if .CanShare}}<form method="post" action="/desk/share"><input type="hidden" name="csrf" value="{{.Session.CSRF}}">
<input type="hidden" name="card" value="{{.Card.ID}}"><button class="secondary">Share as a SMART Health Link (with a passcode)</button></form>{{end}}
<details><summary>FHIR bundle of this result</summary><pre>{{.Bundle}}</pre></details>
<p><a href="/desk/issue">Enter another result</a></p>
{{template "foot" .}}{{end}}

{{define "patient"}}{{template "head" .}}<h1>{{.Name}}</h1>
<p>Born {{.BirthDate}} · lab patient id {{.PatientID}}</p>
<table><caption>Results</caption><thead><tr><th scope="col">Collected</th><th scope="col">Test</th><th scope="col">Result</th>{{if .CanCorrect}}<th scope="col">Correct</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr><td>{{.When}}</td><td>{{.Test}} <span class="hint">(LOINC {{.LOINC}})</span></td><td>{{.Result}}</td>
{{if $.CanCorrect}}<td><form method="post" action="/desk/correct"><input type="hidden" name="csrf" value="{{$.Session.CSRF}}">
<input type="hidden" name="patientId" value="{{$.PatientID}}"><input type="hidden" name="observation" value="{{.ID}}">
<label for="r-{{.ID}}">New result</label><select id="r-{{.ID}}" name="result">{{range $.Results}}<option value="{{.Value}}">{{.Display}}</option>{{end}}</select>
<button class="danger">Correct (revokes the cards issued until now)</button></form></td>{{end}}</tr>{{end}}
</tbody></table>
<table><caption>Cards</caption><thead><tr><th scope="col">Issued (UTC)</th><th scope="col">Contents</th><th scope="col">State</th></tr></thead><tbody>
{{range .Cards}}<tr><td>{{.Issued}}</td><td>{{.Types}}</td><td class="state-{{.State}}">{{.State}}</td></tr>{{else}}<tr><td colspan="3">No cards issued.</td></tr>{{end}}
</tbody></table>
{{if .CanEnrol}}{{template "accounts" .}}{{end}}
<p><a href="/desk/">Back to the desk</a></p>{{template "foot" .}}{{end}}

{{define "proof"}}<fieldset class="radio"><legend>Photo ID you checked</legend>
{{range .Evidence}}<label><input type="radio" name="evidence" value="{{.Value}}"> {{.Label}}</label>{{end}}</fieldset>
<fieldset class="radio"><legend>Identity assurance level</legend>
{{range .IALs}}<label><input type="radio" name="ial" value="{{.Value}}" {{if eq .Value "IAL1.4"}}checked{{end}}> {{.Label}}</label>{{end}}</fieldset>
<p class="hint">Record the kind of document only: never its number.</p>{{end}}

{{define "acct-hidden"}}<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="patientId" value="{{.PatientID}}"><input type="hidden" name="account" value="{{.ID}}">{{end}}

{{define "account"}}{{$h := dict "CSRF" .CSRF "PatientID" .PatientID "ID" .V.Account.ID}}
<dl class="facts"><dt>Account</dt><dd>{{.V.Account.Name}} <span class="hint">({{.V.Account.ID}})</span></dd>
<dt>Identity checked</dt><dd>{{.V.Account.Evidence}}, {{.V.IAL}}, by {{.V.Account.CheckedBy}} on {{.V.Account.Proofed.Format "2006-01-02"}}</dd>
<dt>Sign-up code</dt><dd>{{if .V.CodeOpen}}open until {{.V.CodeExp}}
<form method="post" action="/desk/enrolments/revoke-code" class="inline">{{template "acct-hidden" $h}}<button class="secondary">Withdraw the code</button></form>{{else}}none open{{end}}</dd></dl>
<table><caption>Passkeys of {{.V.Account.Name}}</caption><thead><tr><th scope="col">Registered (UTC)</th><th scope="col">Revoke</th></tr></thead><tbody>
{{range .V.Passkeys}}<tr><td>{{.Created.Format "2006-01-02 15:04"}}</td><td><form method="post" action="/desk/enrolments/revoke-passkey">{{template "acct-hidden" $h}}
<input type="hidden" name="passkey" value="{{.ID}}"><button class="danger">Revoke this passkey</button></form></td></tr>{{else}}<tr><td colspan="2">No passkey registered yet.</td></tr>{{end}}
</tbody></table>{{end}}

{{define "accounts"}}<section aria-labelledby="acct-h"><h2 id="acct-h">Patient account and passkeys</h2>
{{with .Account}}{{template "account" (dict2 "V" . "CSRF" $.Session.CSRF "PatientID" $.PatientID)}}
{{if .Wards}}<p>Acts for: {{range $i, $w := .Wards}}{{if $i}}, {{end}}<a href="/desk/patient?id={{$w.Patient}}">{{$w.Name}}</a>{{end}}</p>{{end}}
<form method="post" action="/desk/enrolments/disable"><input type="hidden" name="csrf" value="{{$.Session.CSRF}}"><input type="hidden" name="patientId" value="{{$.PatientID}}">
<input type="hidden" name="account" value="{{.Account.ID}}"><button class="danger">Disable the account (no more sign-ins)</button></form>
<form method="post" action="/desk/enrolments"><fieldset><legend>New sign-up code (a new or lost phone)</legend>
<input type="hidden" name="csrf" value="{{$.Session.CSRF}}"><input type="hidden" name="patientId" value="{{$.PatientID}}">
{{template "proof" $}}
<div class="radio"><label><input type="checkbox" name="replace" value="1"> The old phone is lost or stolen: revoke its passkeys now</label></div>
<div class="actions"><button>Check the ID and make a new code</button></div></fieldset></form>
{{else}}<p>No account yet: the patient cannot sign in to get their cards into a wallet.</p>
<form method="post" action="/desk/enrolments" id="enrol-form"><fieldset><legend>Enrol {{$.Name}} for sign-in with a passkey</legend>
<input type="hidden" name="csrf" value="{{$.Session.CSRF}}"><input type="hidden" name="patientId" value="{{$.PatientID}}">
{{template "proof" $}}
<div class="actions"><button>Make a sign-up code</button></div></fieldset></form>{{end}}
<h2>Guardians and representatives</h2>
{{range .Guardians}}{{template "account" (dict2 "V" . "CSRF" $.Session.CSRF "PatientID" $.PatientID)}}
<form method="post" action="/desk/enrolments/unlink"><input type="hidden" name="csrf" value="{{$.Session.CSRF}}"><input type="hidden" name="patientId" value="{{$.PatientID}}">
<input type="hidden" name="account" value="{{.Account.ID}}"><button class="danger">Unlink {{.Account.Name}}</button></form>{{else}}<p>No guardian linked.</p>{{end}}
<form method="post" action="/desk/enrolments/guardian"><fieldset><legend>Link a parent, guardian or representative</legend>
<input type="hidden" name="csrf" value="{{$.Session.CSRF}}"><input type="hidden" name="patientId" value="{{$.PatientID}}">
<label for="g-rel">Relationship</label><select id="g-rel" name="relationship">{{range .Relationships}}<option value="{{.Code}}">{{.Label}} ({{.Code}})</option>{{end}}</select>
<label for="g-id">Their lab patient id, if they already have an account</label><input id="g-id" name="guardian" autocomplete="off">
<p class="hint">Otherwise enter their name and check their photo ID: they get their own sign-up code.</p>
<label for="g-name">Name</label><input id="g-name" name="name" autocomplete="off">
{{template "proof" $}}
<div class="actions"><button>Link</button></div></fieldset></form>
</section>{{end}}

{{define "enrolled"}}{{template "head" .}}<h1>Sign-up code for {{.Name}}</h1>
<p>Give this code to the person now; it is shown once, works once, and expires {{.Expires}}. Identity recorded: {{.IAL}}.</p>
<p class="passcode" aria-label="sign-up code" id="code">{{.Code}}</p>
<p>They scan the QR code with their phone's camera (it opens the sign-up page with the code filled in), or open
<strong>{{.URL | signupPage}}</strong> and type the code.</p>
<img class="qr" src="{{.QR}}" alt="QR code of the sign-up address with the code">
<p><a href="/desk/patient?id={{.PatientID}}">Back to the patient</a></p>
{{template "foot" .}}{{end}}

{{define "find"}}{{template "head" .}}<h1>Find a patient</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="get" action="/desk/find"><fieldset><legend>Name and birth date</legend>
<label for="ff">Family name (or its beginning)</label><input id="ff" name="family" value="{{.Q.Family}}" autocomplete="off">
<label for="fg">Given name (or its beginning)</label><input id="fg" name="given" value="{{.Q.Given}}" autocomplete="off">
<label for="fb">Birth date</label><input id="fb" name="birthDate" type="date" value="{{.Q.BirthDate}}" autocomplete="off">
<div class="actions"><button>Find</button></div></fieldset></form>
{{if not .Error}}<table><caption>Patients found</caption><thead><tr><th scope="col">Name</th><th scope="col">Born</th><th scope="col">Lab patient id</th></tr></thead><tbody>
{{range .Matches}}<tr><td><a href="/desk/patient?id={{.ID}}">{{.Name}}</a></td><td>{{.BirthDate}}</td><td>{{.ID}}</td></tr>{{else}}<tr><td colspan="3">No patient found.</td></tr>{{end}}
</tbody></table>{{if .Full}}<p class="hint">Only the first results are shown: type more of the name or the birth date.</p>{{end}}{{end}}
<p><a href="/desk/">Back to the desk</a></p>{{template "foot" .}}{{end}}

{{define "audit"}}{{template "head" .}}<h1>Audit trail</h1>
<p><a class="button" href="/desk/audit.csv" download>Export (CSV)</a></p>
<table><caption>Newest first (ids only: no names or birth dates)</caption><thead><tr><th scope="col">Time (UTC)</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Card types</th><th scope="col">Detail</th></tr></thead><tbody>
{{range .Events}}<tr><td>{{.Time.UTC.Format "2006-01-02 15:04:05"}}</td><td>{{.Actor}}</td><td>{{.Action}}</td><td>{{range .CardTypes}}{{.}} {{end}}</td><td>{{.Detail}}</td></tr>{{end}}
</tbody></table>{{template "foot" .}}{{end}}

{{define "shared"}}{{template "head" .}}<h1>Link created</h1>
<p>Give the patient this passcode (shown once):</p><p class="passcode" aria-label="passcode">{{.Passcode}}</p>
<img class="qr" src="{{.QR}}" alt="SMART Health Link QR code">
<p class="hint">The link works until {{.Expires}}; it can be revoked before then.</p>
<p><a href="/desk/issue">Enter another result</a></p>
{{template "foot" .}}{{end}}
`))
