package account

import (
	"html/template"

	"github.com/healthcards/healthcards/issuer/identity"
)

// pages are plain, accessible HTML for a phone first: one column, large
// controls, labels on every field, status messages in live regions.
var pages = template.Must(template.New("account").Funcs(template.FuncMap{
	"passkeyJS": func() template.JS { return template.JS(identity.PasskeyScript) },
}).Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · {{.Site}}</title>
<style nonce="{{.Nonce}}">
:root{--fg:#111;--bg:#fff;--accent:#0b4f9c;--err:#a4000f;--muted:#444}
*{box-sizing:border-box}body{margin:0;font:18px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;padding:.6rem 1rem;background:#0b2545;color:#fff}
header button{color:#fff}main{max-width:36rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}h2{font-size:1.2rem;margin:1.5rem 0 .5rem}a{color:var(--accent)}
:focus-visible{outline:3px solid #f5a300;outline-offset:2px}
label{display:block;font-weight:600;margin:.8rem 0 .2rem}
input{font:inherit;width:100%;padding:.6rem;border:2px solid #555;border-radius:4px;background:#fff;color:#111;letter-spacing:.08em}
.hint{color:var(--muted);font-size:.95rem}.error{color:var(--err);font-weight:600}
button,.button{font:inherit;font-weight:700;padding:.8rem 1.2rem;border:0;border-radius:6px;background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:#333}.actions{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{font-weight:600}dd{margin:0}
ul{padding-left:1.2rem}.note{background:#eef4fb;border-left:4px solid var(--accent);padding:.5rem .8rem}
</style></head><body>
<header><strong>{{.Site}}</strong>{{with .Session}}<form method="post" action="/account/signout"><input type="hidden" name="csrf" value="{{.CSRF}}"><button class="secondary">Sign out</button></form>{{end}}</header>
<main id="main">{{end}}

{{define "foot"}}</main></body></html>{{end}}

{{define "message"}}{{template "head" .}}<h1>{{.Title}}</h1><p role="alert">{{.Message}}</p>
<p><a href="/account/signin">Sign in</a></p>{{template "foot" .}}{{end}}

{{define "signup"}}{{template "head" .}}<h1>Set up your account</h1>
<p>Staff at the lab checked your identity and gave you a sign-up code (on paper or as a QR code). It works once, for a short time.</p>
<form id="f"><label for="code">Sign-up code</label>
<p class="hint" id="code-hint">Like 7K2M-9QXD-4HRT. Letters or digits; dashes and spaces do not matter.</p>
<input id="code" name="code" autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" aria-describedby="code-hint" required>
<div class="actions"><button>Create my passkey</button></div></form>
<p id="status" role="status" aria-live="polite"></p>
<p class="hint">Your phone keeps the passkey in its secure hardware and unlocks it with your fingerprint, face or screen lock. There is no password.
If you lose the phone, go back to the lab's desk for a new code.</p>
<p class="hint">Already set up? <a href="/account/signin">Sign in</a>.</p>
<script nonce="{{.Nonce}}">{{passkeyJS}}</script><script nonce="{{.Nonce}}">
const m=/^#code=([0-9A-Za-z -]{1,20})$/.exec(location.hash);if(m){document.getElementById('code').value=decodeURIComponent(m[1]);history.replaceState(null,'',location.pathname)}
document.getElementById('f').addEventListener('submit',async ev=>{ev.preventDefault();try{say('Checking the code…');
const r=await passkeyRegister('/account/signup/begin','/account/signup/finish',{code:document.getElementById('code').value});location.href=r.next}catch(e){say(e.message)}});
</script>{{template "foot" .}}{{end}}

{{define "signin"}}{{template "head" .}}<h1>Sign in</h1>
{{with .Message}}<p class="error" role="alert">{{.}}</p>{{end}}
<p>Use the passkey on this phone (fingerprint, face or screen lock). No password.</p>
<button id="go" type="button">Sign in with a passkey</button>
<p id="status" role="status" aria-live="polite"></p>
<p class="hint">No passkey yet? <a href="/account/signup">Set up your account with the code from the lab</a>.</p>
<script nonce="{{.Nonce}}">{{passkeyJS}}</script><script nonce="{{.Nonce}}">
document.getElementById('go').addEventListener('click',async()=>{try{say('Waiting for your passkey…');
const r=await passkeySignIn('/account/signin/begin',{{.Finish}});location.href=r.next}catch(e){say(e.message)}});
</script>{{template "foot" .}}{{end}}

{{define "home"}}{{template "head" .}}<h1>Your account</h1>
{{if .Welcome}}<p class="note" role="status">Your passkey is set up. Next time, sign in with it.</p>{{end}}
<dl><dt>Name</dt><dd id="name">{{.Session.Account.Name}}</dd>
{{with .BirthDate}}<dt>Birth date</dt><dd>{{.}}</dd>{{end}}
{{with .Session.Account.Patient}}<dt>Lab patient id</dt><dd>{{.}}</dd>{{end}}
<dt>Identity checked</dt><dd>{{if .Evidence}}{{.Evidence}} seen at the lab ({{.IAL}}){{else}}—{{end}}</dd>
<dt>Passkeys</dt><dd>{{.Session.Account.Passkeys}}</dd></dl>
{{if .Wards}}<h2>People you act for</h2><ul id="wards">{{range .Wards}}<li>{{.Name}}</li>{{end}}</ul>{{end}}
<h2>Apps</h2><p><a href="{{.Apps}}">Apps you connected to your health records</a>: see what each may read, and withdraw it.</p>
<p class="hint">Lost your phone? Ask the lab's front desk: they revoke its passkey and give you a new code.</p>
{{template "foot" .}}{{end}}
`))
