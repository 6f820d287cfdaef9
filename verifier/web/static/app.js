// Scanning page for the SMART Health Cards verifier.
//
// Everything runs in this file (no inline script, so the page works under a
// strict Content-Security-Policy). Cards are sent to POST /v1/verify on the
// same origin and nothing is kept after the result is shown. Server data is
// only ever inserted with textContent, never as HTML.
//
// SMART Health Links: when the server answers passcode_required (or
// passcode_wrong), the page asks for the passcode and sends the same input
// again with it. The input is kept in memory only while the prompt is
// open; the passcode is read from the field, cleared at once, and never
// stored.
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };

  var MAX_FILE_BYTES = 10 * 1024 * 1024;
  var SCAN_INTERVAL_MS = 200;

  // ---- settings (from the address: ?clear=15&sound=1&vibrate=1) -------------

  // Settings live in the page's address so a venue can bookmark them; the
  // page stores nothing on the device.
  var settings = { clearAfter: 15, sound: false, vibrate: false };
  (function () {
    var q = new URLSearchParams(window.location.search);
    var n = parseInt(q.get("clear") || "", 10);
    if (n >= 2 && n <= 600) settings.clearAfter = n;
    settings.sound = q.get("sound") === "1";
    settings.vibrate = q.get("vibrate") === "1";
  })();

  // ---- verdict rendering ---------------------------------------------------

  // The four verdicts of the API. unable_to_check is neutral: the card was
  // not checked, through no fault found in it; it is never shown as bad.
  var VERDICT = {
    verified: { cls: "verified", title: "Verified", advice: "Check the name and birth date against a photo ID." },
    issuer_not_trusted: { cls: "untrusted", title: "Issuer not trusted", advice: "Do not accept this card here: its issuer is not on this venue's list." },
    invalid: { cls: "invalid", title: "Not valid", advice: "Do not accept this card." },
    unable_to_check: { cls: "unable", title: "Could not check", advice: "The card was not checked. Try again; if it keeps failing, check it another way." }
  };

  // Codes that mean "not checked" when an older service sends a problem
  // without a verdict (the service decides; this is only a fallback).
  var UNABLE_CODES = /^(issuer_unreachable|revocation_unavailable|fetch_limited|deadline_exceeded|too_many_cards|bad_config|malformed_input|chunk_missing|no_qr_found|image_too_large|link_fetch_failed|fetch_failed|passcode_required|passcode_wrong|link_without_cards|body_too_large|unsupported_media_type|bad_request|malformed_multipart|missing_input|rate_limited|not_ready|not_found|method_not_allowed|timeout|internal|service_unreachable|not_a_health_card)$/;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function addRow(dl, label, value, cls) {
    if (value === undefined || value === null || value === "") return;
    dl.appendChild(el("dt", label));
    dl.appendChild(el("dd", value, cls));
  }

  function codingName(c) {
    if (!c) return "";
    return c.name || ((c.system ? c.system.replace(/^https?:\/\//, "") + " " : "") + c.code);
  }

  // ageText says how long ago a FHIR date or dateTime was, in words
  // ("3 hours ago", "2 days ago"), against now (ms).
  function ageText(value, now) {
    if (!value) return "";
    var dateOnly = /^\d{4}(-\d{2}(-\d{2})?)?$/.test(value);
    var t = Date.parse(dateOnly ? value + (value.length === 4 ? "-01-01" : value.length === 7 ? "-01" : "") + "T00:00:00" : value);
    if (isNaN(t)) return "";
    var ms = now - t;
    if (ms < -5 * 60000) return "in the future";
    var hours = Math.floor(ms / 3600000), days = Math.floor(ms / 86400000);
    if (!dateOnly && hours < 1) return "less than an hour ago";
    if (!dateOnly && hours < 24) return hours + (hours === 1 ? " hour ago" : " hours ago");
    if (days < 1) return "today";
    if (days < 60) return days + (days === 1 ? " day ago" : " days ago");
    if (days < 730) { var mo = Math.floor(days / 30.44); return mo + " months ago"; }
    return Math.floor(days / 365.25) + " years ago";
  }

  // dateWithAge shows a date as YYYY-MM-DD (unambiguous everywhere) and its age.
  function dateWithAge(value, now) {
    if (!value) return "";
    var age = ageText(value, now);
    return value.slice(0, 10) + (age ? " (" + age + ")" : "");
  }

  var current = null; // the card on screen: {parts: [scanned texts]}; null when none
  var clearTimer = null, clearTick = null;

  // local is true for a verdict the page reached itself (the service was
  // not reached, the QR code is not a card): no checker is named then.
  function showVerdict(verdict, reason, advice, code, local) {
    closePasscode();
    var known = Object.prototype.hasOwnProperty.call(VERDICT, verdict);
    var v = known ? VERDICT[verdict] : VERDICT.invalid; // fail closed
    var box = $("verdict");
    box.className = "verdict " + v.cls;
    box.setAttribute("data-verdict", known ? verdict : "invalid");
    if (code) box.setAttribute("data-code", code); else box.removeAttribute("data-code");
    $("verdict-title").textContent = v.title;
    $("verdict-reason").textContent = reason || "";
    advice = advice || v.advice;
    showEntry(null);
    // The service's message may already say what to do: never say it twice.
    $("verdict-advice").textContent = reason && reason.indexOf(advice) >= 0 ? "" : advice;
    $("again").textContent = scanning ? "Clear now" : "Check another card";
    $("verdict-mode").textContent = local ? "" : device.on ? "Checked on this device; the card did not leave it." : "Checked by the verification service.";
    $("result").hidden = false;
    document.body.classList.add("has-result");
    if (!scanning) $("inputs").hidden = true;
    setBusy("");
    feedback(known ? verdict : "invalid");
    startClearTimer();
    if (!scanning) $("result").focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }

  // startClearTimer clears the verdict and the visitor's details after
  // settings.clearAfter seconds, counting down in #clear-note.
  function startClearTimer() {
    stopClearTimer();
    var left = settings.clearAfter;
    var note = function () { $("clear-note").textContent = "Clears in " + left + " s"; };
    note();
    clearTick = setInterval(function () { left = Math.max(0, left - 1); note(); }, 1000);
    clearTimer = setTimeout(function () { clearResult(); }, settings.clearAfter * 1000);
  }

  function stopClearTimer() {
    if (clearTimer) { clearTimeout(clearTimer); clearTimer = null; }
    if (clearTick) { clearInterval(clearTick); clearTick = null; }
    $("clear-note").textContent = "";
  }

  // ---- sound and vibration (off by default) ---------------------------------

  var audio = null;
  var TONES = { verified: [880], issuer_not_trusted: [520, 520], invalid: [220, 220, 220], unable_to_check: [440] };
  var BUZZ = { verified: [120], issuer_not_trusted: [120, 80, 120], invalid: [300, 100, 300], unable_to_check: [60] };

  function feedback(verdict) {
    if (settings.vibrate && navigator.vibrate) {
      try { navigator.vibrate(BUZZ[verdict] || BUZZ.invalid); } catch (e) { /* not allowed here */ }
    }
    if (!settings.sound) return;
    try {
      if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
      var t = audio.currentTime;
      (TONES[verdict] || TONES.invalid).forEach(function (f, i) {
        var o = audio.createOscillator(), g = audio.createGain();
        o.frequency.value = f;
        g.gain.setValueAtTime(0.2, t + i * 0.18);
        g.gain.setValueAtTime(0, t + i * 0.18 + 0.12);
        o.connect(g); g.connect(audio.destination);
        o.start(t + i * 0.18); o.stop(t + i * 0.18 + 0.13);
      });
    } catch (e) { /* no audio here */ }
  }

  // renderCard shows what a door decision needs. Only a verified card shows
  // its tests and vaccinations; an invalid card shows whose it is when the
  // signature verified (expired, revoked); nothing empty is ever shown.
  function renderCard(card, many, now) {
    var box = el("article", null, "card");
    box.setAttribute("data-verdict", card.verdict);
    var s = card.summary || {};
    var ok = card.verdict === "verified";
    var dl = el("dl");
    if (many) addRow(dl, "Result", (VERDICT[card.verdict] || VERDICT.invalid).title + (card.message ? ": " + card.message : ""), "card-verdict");
    if (s.patient) {
      addRow(dl, "Name", s.patient.name, "person patient-name");
      addRow(dl, "Birth date", s.patient.birthDate, "person birth-date");
      var ia = s.patient.identityAssurance;
      if (ok && ia) addRow(dl, "Identity checked", ia.text + " Level " + ia.level + ".", "identity-assurance");
    }
    addRow(dl, "Issuer", card.issuer_name || card.iss, "issuer");
    if (ok && card.issuer_name && card.iss) addRow(dl, "Issuer address", card.iss);
    if (ok && card.issuedAt) addRow(dl, "Issued", dateWithAge(card.issuedAt, now));
    if (card.expiresAt) addRow(dl, "Expires", card.expiresAt.slice(0, 10));
    if (dl.childNodes.length) {
      box.appendChild(el("h3", many ? "Card " + (card.index + 1) : "Card details"));
      box.appendChild(dl);
    }
    if (!ok) return dl.childNodes.length ? box : null;

    var labs = s.labResults || [];
    if (labs.length) {
      box.appendChild(el("h3", labs.length === 1 ? "Test" : "Tests"));
      var ul2 = el("ul", null, "lab-results");
      labs.forEach(function (r) {
        var li = el("li");
        li.appendChild(el("span", codingName(r.test), "test-name"));
        if (r.value) { li.appendChild(document.createTextNode(": ")); li.appendChild(el("strong", r.value, "test-value")); }
        if (r.date) li.appendChild(el("span", "Collected " + dateWithAge(r.date, now), "when collected"));
        ul2.appendChild(li);
      });
      box.appendChild(ul2);
    }
    var imm = s.immunizations || [];
    if (imm.length) {
      box.appendChild(el("h3", "Vaccination: " + imm.length + (imm.length === 1 ? " dose" : " doses")));
      var ul = el("ol", null, "immunizations");
      imm.forEach(function (i) {
        var li = el("li");
        li.appendChild(el("span", codingName(i.vaccine), "vaccine"));
        if (i.status && i.status !== "completed") li.appendChild(document.createTextNode(" (" + i.status + ")"));
        if (i.date) li.appendChild(el("span", dateWithAge(i.date, now), "when dose-date"));
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
    return box;
  }

  // renderUnverified shows a link's FHIR files that no signature covers:
  // types and counts only, in a neutral "Not verified" box.
  function renderUnverified(link) {
    var files = (link && link.unverifiedFhir) || [];
    if (!files.length) return null;
    var box = el("section", null, "unverified");
    box.setAttribute("aria-labelledby", "unverified-title");
    var h = el("h3");
    h.id = "unverified-title";
    h.appendChild(el("span", "Not verified", "badge"));
    h.appendChild(document.createTextNode(" Also shared in this link"));
    box.appendChild(h);
    box.appendChild(el("p", "The sender shared this without a signature. It was not checked and is not proof of anything."));
    var ul = el("ul");
    files.forEach(function (f) {
      var t = "FHIR " + (f.resourceType || "data");
      if (f.bundleType) t += " (" + f.bundleType + ")";
      if (f.resourceType === "Bundle") t += ", " + f.entries + (f.entries === 1 ? " entry" : " entries");
      var parts = (f.resources || []).map(function (r) { return r.count + " " + r.resourceType; });
      if (parts.length) t += ": " + parts.join(", ");
      ul.appendChild(el("li", t));
    });
    box.appendChild(ul);
    return box;
  }

  function render(res) {
    var cards = res.cards || [];
    var cardsBox = $("cards");
    cardsBox.textContent = "";
    var now = Date.now();
    cards.forEach(function (c) {
      var box = renderCard(c, cards.length > 1, now);
      if (box) cardsBox.appendChild(box);
    });
    if (res.link) {
      // Where the cards came from; the label is the sender's own words.
      var note = el("p", "Opened from a SMART Health Link", "link-note");
      if (res.link.label) note.textContent += " labelled \u201c" + res.link.label + "\u201d by its sender";
      note.textContent += ".";
      cardsBox.insertBefore(note, cardsBox.firstChild);
    }
    var u = renderUnverified(res.link);
    if (u) cardsBox.appendChild(u);
    var first = cards.filter(function (c) { return c.verdict === res.verdict; })[0] || {};
    var code = (first.errors && first.errors[0] && first.errors[0].code) || "";
    showVerdict(res.verdict, res.message, res.advice || first.advice, code);
    if (res.link && !cards.length) $("verdict-title").textContent = "Nothing verified";
    showEntry(res.entry);
  }

  // showEntry says whether the venue's entry rule (shc-verifier
  // --entry-rules) is met; the service evaluates it on verified cards only.
  function showEntry(entry) {
    var p = $("verdict-entry");
    p.textContent = "";
    p.removeAttribute("data-met");
    if (!entry || !entry.rule) return;
    p.setAttribute("data-met", entry.met ? "true" : "false");
    p.textContent = entry.met ? "\u2713 Entry rule met: " + entry.rule :
      "\u2717 Entry rule not met: " + entry.rule + ". " + (entry.reason || "");
  }

  function renderProblem(p) {
    $("cards").textContent = "";
    p = p || {};
    var code = p.code || "";
    var verdict = p.verdict || (UNABLE_CODES.test(code) || !code ? "unable_to_check" : "invalid");
    showVerdict(verdict, p.title || "The card could not be checked.", p.advice, code, !!p.local);
  }

  // clearResult removes the verdict and everything about the visitor from
  // the page and drops the page's references to the card.
  function clearResult() {
    stopClearTimer();
    closePasscode();
    current = null;
    $("result").hidden = true;
    document.body.classList.remove("has-result");
    $("inputs").hidden = false;
    $("cards").textContent = "";
    $("verdict").className = "verdict";
    $("verdict").removeAttribute("data-verdict");
    $("verdict").removeAttribute("data-code");
    $("verdict-title").textContent = "";
    $("verdict-reason").textContent = "";
    $("verdict-advice").textContent = "";
    $("verdict-mode").textContent = "";
    showEntry(null);
    $("paste").value = "";
    $("file").value = "";
    setBusy("");
    resetChunks();
  }

  function reset() { clearResult(); }

  function setBusy(msg) { $("busy").textContent = msg; }

  // ---- on-device mode (issue 11) ---------------------------------------------

  // In device mode cards are verified by the project's Go verifier compiled
  // to WebAssembly (/static/wasm), against the trust snapshot the service
  // publishes (GET /v1/trust-snapshot: trusted issuers, keys, revocation
  // lists). The card never leaves the device. The snapshot is fetched again
  // once half its revocation bound has passed; when that fails the last one
  // is used, and past the bound cards whose revocation must be checked come
  // back unable_to_check (the wasm decides).
  var device = { on: false, ready: null, info: null, fetchedAt: 0 };

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      if (window.Go) { resolve(); return; }
      var sc = document.createElement("script");
      sc.src = src;
      sc.onload = function () { resolve(); };
      sc.onerror = function () { reject(new Error("script " + src)); };
      document.head.appendChild(sc);
    });
  }

  function deviceStart() {
    if (device.ready) return device.ready;
    var t0 = performance.now();
    showMode("Loading the on-device checker\u2026");
    device.ready = loadScript("/static/wasm/wasm_exec.js").then(function () {
      return fetch("/static/wasm/verifier.wasm.gz", { credentials: "omit" });
    }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return new Response(r.body.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer();
    }).then(function (buf) {
      var go = new window.Go();
      return WebAssembly.instantiate(buf, go.importObject).then(function (res) {
        go.run(res.instance); // main registers shcVerifier, then waits for calls
        if (!window.shcVerifier) throw new Error("on-device checker did not start");
        document.body.setAttribute("data-wasm-load-ms", String(Math.round(performance.now() - t0)));
      });
    }).then(function () { return refreshSnapshot(true); });
    device.ready.then(function () { showMode(); }, function () { device.ready = null; showMode(); });
    return device.ready;
  }

  function refreshSnapshot(force) {
    var bound = device.info ? device.info.revocationMaxAgeSeconds * 1000 : 0;
    if (!force && device.info && Date.now() - device.fetchedAt < bound / 2) return Promise.resolve();
    return fetch("/v1/trust-snapshot", { credentials: "omit", cache: "no-cache" }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.text();
    }).then(function (text) {
      var info = window.shcVerifier.load(text);
      if (!info || !info.ok) throw new Error((info && info.error) || "bad trust snapshot");
      device.info = info;
      device.fetchedAt = Date.now();
      showMode();
    }).catch(function (e) {
      if (!device.info) throw e; // nothing to check against
      showMode(); // keep the last snapshot; the wasm knows its age
    });
  }

  function minutes(ms) {
    var m = Math.round(ms / 60000);
    return m < 1 ? "less than a minute" : m + (m === 1 ? " minute" : " minutes");
  }

  // showMode says where cards are checked, in the header.
  function showMode(msg) {
    var m = $("mode");
    m.setAttribute("data-mode", device.on ? "device" : "server");
    if (!device.on) { m.textContent = "Checking on the verification service."; return; }
    if (msg) { m.textContent = msg; return; }
    if (!device.info) { m.textContent = "On this device: the checker or its trust list could not be loaded."; return; }
    var age = Date.now() - device.info.time, bound = device.info.revocationMaxAgeSeconds * 1000;
    var t = "Checking on this device: cards never leave it. Trust list " + minutes(age) + " old";
    if (device.info.required && age > bound) t += ", older than its " + minutes(bound) + " limit: cards that need a revocation check show \u201cCould not check\u201d";
    m.textContent = t + ".";
  }

  function setMode(on) {
    device.on = on;
    $("mode-device").checked = on;
    $("mode-server").checked = !on;
    var u = new URL(window.location.href);
    if (on) u.searchParams.set("mode", "device"); else u.searchParams.delete("mode");
    window.history.replaceState(null, "", u.toString());
    showMode();
    if (on) deviceStart().catch(function () { /* shown by showMode */ });
  }

  function verifyOnDevice(text) {
    inFlight = true;
    setBusy("Checking on this device\u2026");
    return deviceStart().then(function () { return refreshSnapshot(false); }).then(function () {
      var t0 = performance.now();
      var out = JSON.parse(window.shcVerifier.verify(text, Date.now()));
      document.body.setAttribute("data-wasm-verify-ms", (performance.now() - t0).toFixed(1));
      inFlight = false;
      setBusy("");
      if (out.cards) render(out); else renderProblem(out);
    }, function () {
      inFlight = false;
      setBusy("");
      renderProblem({ code: "snapshot_unavailable", verdict: "unable_to_check", local: true,
        title: "The on-device checker or its trust list could not be loaded.",
        advice: "Check your connection and try again, or check on the verification service." });
    });
  }

  // ---- talking to the server -------------------------------------------------

  // ---- SMART Health Link passcodes -------------------------------------------

  var pending = null; // the link input awaiting a passcode: {text} or {file}

  function isLink(text) { return /^shlink:\//i.test(text) || /#shlink:\//i.test(text); }

  function askPasscode(input, problem) {
    stopCamera();
    pending = input;
    $("result").hidden = true;
    $("inputs").hidden = true;
    $("passcode-panel").hidden = false;
    var status = "";
    if (problem && problem.code === "passcode_wrong") status = problem.title || "The passcode is not correct.";
    $("passcode-status").textContent = status;
    $("passcode-panel").setAttribute("data-state", status ? "wrong" : "asking");
    $("passcode").value = "";
    $("passcode").setAttribute("aria-invalid", status ? "true" : "false");
    $("passcode").focus();
  }

  function closePasscode() {
    pending = null;
    $("passcode").value = "";
    $("passcode-panel").hidden = true;
    $("passcode-panel").removeAttribute("data-state");
    $("passcode-status").textContent = "";
  }

  function submitPasscode() {
    var code = $("passcode").value;
    $("passcode").value = "";
    if (!pending) return;
    if (!code) {
      $("passcode-status").textContent = "Enter the passcode first.";
      $("passcode").focus();
      return;
    }
    $("passcode-status").textContent = "Opening the link\u2026";
    var input = pending;
    if (input.file) verifyImageOnServer(input.file, code); else sendText(input.text, code);
  }

  var inFlight = false;

  function post(body, contentType, input) {
    inFlight = true;
    setBusy("Checking\u2026");
    var headers = { "Accept": "application/json, application/problem+json" };
    if (contentType) headers["Content-Type"] = contentType;
    return fetch("/v1/verify", { method: "POST", headers: headers, body: body, credentials: "omit", cache: "no-store" })
      .then(function (r) {
        return r.json().then(function (j) { return { ok: r.ok, body: j }; }, function () {
          return { ok: false, body: { title: "The server gave an unreadable answer (HTTP " + r.status + ")." } };
        });
      })
      .then(function (r) {
        inFlight = false;
        setBusy("");
        var code = r.body && r.body.code;
        if (!r.ok && input && (code === "passcode_required" || code === "passcode_wrong")) askPasscode(input, r.body);
        else if (r.ok && r.body && r.body.cards) render(r.body); else renderProblem(r.body);
      }, function () {
        // The page itself knows the service was not reached: the card was
        // not checked, which is not the same as a bad card.
        inFlight = false;
        setBusy("");
        renderProblem({ code: "service_unreachable", verdict: "unable_to_check", local: true,
          title: "The verification service could not be reached.", advice: "Check your connection and try again." });
      });
  }

  function verifyText(text) {
    return sendText(text, "");
  }

  function sendText(text, passcode) {
    if (device.on) {
      if (isLink(text)) {
        renderProblem({ code: "link_needs_service", verdict: "unable_to_check", local: true,
          title: "SMART Health Links are opened by the verification service, not on this device.",
          advice: "Switch to checking on the verification service, or ask for the card's own QR code." });
        return Promise.resolve();
      }
      return verifyOnDevice(text);
    }
    var body = { input: text };
    if (passcode) body.passcode = passcode;
    return post(JSON.stringify(body), "application/json", { text: text });
  }

  function verifyImageOnServer(file, passcode) {
    if (device.on) { // the photo never leaves the device either
      renderProblem({ code: "no_qr_found", verdict: "unable_to_check", local: true,
        title: "No health card QR code could be read in this picture on this device.",
        advice: "Ask the visitor to brighten the screen and scan again." });
      return Promise.resolve();
    }
    var fd = new FormData();
    fd.append("image", file, file.name || "photo");
    if (passcode) fd.append("passcode", passcode);
    return post(fd, null, { file: file });
  }

  // ---- QR decoding in the browser -------------------------------------------

  var detector = null;
  if ("BarcodeDetector" in window) {
    try { detector = new window.BarcodeDetector({ formats: ["qr_code"] }); } catch (e) { detector = null; }
  }

  // decodeSource returns a promise of the QR text in an image source (a video
  // element or an ImageBitmap), or "" when none was found.
  function decodeSource(src, w, h) {
    var canvas = $("frame");
    var scale = Math.min(1, 1280 / Math.max(w, h));
    canvas.width = Math.max(1, Math.round(w * scale));
    canvas.height = Math.max(1, Math.round(h * scale));
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(src, 0, 0, canvas.width, canvas.height);
    var viaJS = function () {
      if (typeof window.jsQR !== "function") return "";
      var img = ctx.getImageData(0, 0, canvas.width, canvas.height);
      var code = window.jsQR(img.data, img.width, img.height, { inversionAttempts: "attemptBoth" });
      return code && code.data ? code.data : "";
    };
    if (detector) {
      return detector.detect(canvas).then(function (codes) {
        for (var i = 0; i < codes.length; i++) {
          var raw = codes[i].rawValue || "";
          if (/^shc:\//i.test(raw) || isLink(raw)) return raw;
        }
        return codes.length ? codes[0].rawValue : viaJS();
      }, viaJS);
    }
    return Promise.resolve(viaJS());
  }

  // ---- legacy chunks (QR-6: any order) ---------------------------------------

  var chunks = { total: 0, parts: {} };

  function resetChunks() {
    chunks = { total: 0, parts: {} };
    $("chunks").hidden = true;
    $("chunks").textContent = "";
  }

  function countChunks() { return Object.keys(chunks.parts).length; }

  // handleScan takes one decoded QR text. It returns true when it consumed the
  // text (a card was sent, or a chunk collected) and false for a text that is
  // not a SMART Health Card.
  //
  // With the camera on (door mode) the next card is read without a tap: a
  // QR code of the card already on screen is ignored, any other one clears
  // the verdict and is checked.
  function handleScan(text, fromCamera) {
    text = (text || "").trim();
    if (!text) return false;
    if (fromCamera) {
      if (inFlight || !$("passcode-panel").hidden) return true;
      if (current && current.parts.indexOf(text) >= 0) return true;
      if (current) clearResult();
    }
    if (isLink(text)) { current = { parts: [text] }; verifyText(text); return true; }
    if (!/^shc:\//i.test(text)) {
      if (!fromCamera) return false;
      current = { parts: [text] };
      renderProblem({ code: "not_a_health_card", verdict: "unable_to_check", local: true,
        title: "This QR code is not a SMART Health Card or Link.",
        advice: "Ask the visitor for their SMART Health Card QR code." });
      return true;
    }
    var m = /^shc:\/(\d+)\/(\d+)\//i.exec(text);
    if (!m) { current = { parts: [text] }; verifyText(text); return true; }
    var idx = parseInt(m[1], 10), total = parseInt(m[2], 10);
    if (total < 1 || total > 99 || idx < 1 || idx > total) {
      current = { parts: [text] };
      verifyText(text); // let the server explain what is wrong
      return true;
    }
    if (chunks.total !== total) resetChunks();
    chunks.total = total;
    chunks.parts[idx] = text;
    var n = countChunks();
    $("chunks").hidden = false;
    $("chunks").textContent = n + " of " + total + " scanned";
    if (n === total) {
      var all = [];
      for (var i = 1; i <= total; i++) all.push(chunks.parts[i]);
      current = { parts: all };
      resetChunks();
      verifyText(all.join("\n"));
    } else {
      $("camera-status").textContent = "Part " + idx + " read. Scan the next QR code of this card.";
    }
    return true;
  }

  // ---- camera ------------------------------------------------------------------

  var stream = null, timer = null, scanning = false;

  function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      $("camera-status").textContent = "This browser cannot use the camera here. Paste the text or upload a photo instead.";
      return;
    }
    $("camera-status").textContent = "Starting the camera\u2026";
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (s) {
      stream = s;
      var v = $("video");
      v.srcObject = s;
      $("video-wrap").hidden = false;
      $("camera-start").hidden = true;
      $("camera-stop").hidden = false;
      $("inputs").hidden = false;
      document.body.classList.add("door");
      $("camera-status").textContent = "Point the camera at the QR code. The next card is read without a tap.";
      return v.play().then(function () { scanning = true; tick(); });
    }).catch(function () {
      $("camera-status").textContent = "The camera could not be started. Paste the text or upload a photo instead.";
      stopCamera();
    });
  }

  function tick() {
    if (!scanning) return;
    var v = $("video");
    if (v.readyState < 2 || !v.videoWidth) { timer = setTimeout(tick, SCAN_INTERVAL_MS); return; }
    decodeSource(v, v.videoWidth, v.videoHeight).then(function (text) {
      if (!scanning) return;
      if (text) handleScan(text, true);
      timer = setTimeout(tick, SCAN_INTERVAL_MS);
    }, function () { timer = setTimeout(tick, SCAN_INTERVAL_MS); });
  }

  function stopCamera() {
    scanning = false;
    document.body.classList.remove("door");
    if (timer) { clearTimeout(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    $("video").srcObject = null;
    $("video-wrap").hidden = true;
    $("camera-start").hidden = false;
    $("camera-stop").hidden = true;
    if (!$("result").hidden) $("inputs").hidden = true;
    if (!$("camera-status").textContent || /Point the camera|Starting/.test($("camera-status").textContent)) {
      $("camera-status").textContent = "Camera is off.";
    }
  }

  // ---- files -----------------------------------------------------------------

  function onFile() {
    var f = $("file").files && $("file").files[0];
    if (!f) return;
    if (f.size > MAX_FILE_BYTES) { renderProblem({ title: "That file is too large to be a health card." }); return; }
    var isImage = /^image\//.test(f.type) || /\.(png|jpe?g)$/i.test(f.name);
    if (!isImage) {
      f.text().then(verifyText, function () { renderProblem({ title: "The file could not be read." }); });
      return;
    }
    setBusy("Reading the photo\u2026");
    // Decode in the browser first so legacy chunks can be collected one photo
    // at a time; if that fails, let the server try its more patient decoder.
    createImageBitmap(f).then(function (bmp) {
      return decodeSource(bmp, bmp.width, bmp.height);
    }).then(function (text) {
      setBusy("");
      if (!text || !handleScan(text, false)) verifyImageOnServer(f);
      else $("file").value = "";
    }, function () { setBusy(""); verifyImageOnServer(f); });
  }

  // ---- wiring ------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", function () {
    $("paste-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var t = $("paste").value.trim();
      if (!t) { $("paste").focus(); setBusy("Paste a card first."); return; }
      verifyText(t);
    });
    $("file").addEventListener("change", onFile);
    $("passcode-form").addEventListener("submit", function (ev) { ev.preventDefault(); submitPasscode(); });
    $("passcode-cancel").addEventListener("click", function () { reset(); $("camera-start").focus(); });
    $("camera-start").addEventListener("click", startCamera);
    $("camera-stop").addEventListener("click", stopCamera);
    $("again").addEventListener("click", function () {
      clearResult();
      if (!scanning) $("camera-start").focus();
    });
    $("mode-server").addEventListener("change", function () { if ($("mode-server").checked) setMode(false); });
    $("mode-device").addEventListener("change", function () { if ($("mode-device").checked) setMode(true); });
    if (new URLSearchParams(window.location.search).get("mode") === "device") setMode(true);
    $("clear-after").value = String(settings.clearAfter);
    $("sound").checked = settings.sound;
    $("vibrate").checked = settings.vibrate;
    $("clear-after").addEventListener("change", function () {
      var n = parseInt($("clear-after").value, 10);
      if (n >= 2 && n <= 600) settings.clearAfter = n; else $("clear-after").value = String(settings.clearAfter);
    });
    $("sound").addEventListener("change", function () { settings.sound = $("sound").checked; if (settings.sound) feedback("verified"); });
    $("vibrate").addEventListener("change", function () { settings.vibrate = $("vibrate").checked; });
    document.body.setAttribute("data-ready", detector ? "barcodedetector" : "jsqr");
    // The service worker keeps the page, the on-device verifier and the last
    // trust snapshot for offline use (never a card).
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () {
        document.body.setAttribute("data-sw", "registered");
      }, function () { document.body.setAttribute("data-sw", "failed"); });
    }
  });
})();
