// Passkey ceremonies for the issuer's pages (the desk and the patient
// pages): one copy, embedded by issuer/identity (PasskeyScript) and put in
// a nonce'd <script> by each page. Options and responses travel as the
// JSON the go-webauthn library reads (binary fields base64url).
const b64u=s=>Uint8Array.from(atob(s.replace(/-/g,'+').replace(/_/g,'/')+'==='.slice((s.length+3)%4)),c=>c.charCodeAt(0));
const u64=b=>btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g,'-').replace(/\//g,'_').replace(/=+$/,'');
async function post(u,b){const r=await fetch(u,{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify(b),credentials:'same-origin'});
const j=await r.json().catch(()=>({}));if(!r.ok)throw new Error(j.message||'The service did not answer.');return j}
function say(m){const e=document.getElementById('status');e.textContent=m}
// passkeyRegister posts body to begin, creates a passkey with the options
// it answers and posts the new credential to finish; it returns finish's
// answer ({next}).
async function passkeyRegister(begin,finish,body){const o=await post(begin,body);const p=o.publicKey;
p.challenge=b64u(p.challenge);p.user.id=b64u(p.user.id);(p.excludeCredentials||[]).forEach(c=>c.id=b64u(c.id));
say('Confirm with your device…');const c=await navigator.credentials.create(o);
return post(finish,{id:c.id,rawId:u64(c.rawId),type:c.type,response:{clientDataJSON:u64(c.response.clientDataJSON),
attestationObject:u64(c.response.attestationObject)}})}
// passkeySignIn asks begin for a discoverable-credential challenge, signs
// it with a passkey of this site and posts the assertion to finish.
async function passkeySignIn(begin,finish){const o=await post(begin,{});o.publicKey.challenge=b64u(o.publicKey.challenge);
(o.publicKey.allowCredentials||[]).forEach(c=>c.id=b64u(c.id));
const a=await navigator.credentials.get(o);
return post(finish,{id:a.id,rawId:u64(a.rawId),type:a.type,response:{clientDataJSON:u64(a.response.clientDataJSON),
authenticatorData:u64(a.response.authenticatorData),signature:u64(a.response.signature),userHandle:a.response.userHandle?u64(a.response.userHandle):null}})}
