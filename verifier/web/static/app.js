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

  // ---- verdict rendering ---------------------------------------------------

  var VERDICT = {
    verified: { cls: "verified", title: "Verified" },
    issuer_not_trusted: { cls: "untrusted", title: "Issuer not trusted" },
    invalid: { cls: "invalid", title: "Not valid" }
  };

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

  function showVerdict(verdict, reason) {
    closePasscode();
    var v = VERDICT[verdict] || VERDICT.invalid;
    var box = $("verdict");
    box.className = "verdict " + v.cls;
    box.setAttribute("data-verdict", verdict in VERDICT ? verdict : "invalid");
    $("verdict-title").textContent = v.title;
    $("verdict-reason").textContent = reason || "";
    $("result").hidden = false;
    $("inputs").hidden = true;
    $("result").focus();
  }

  function renderCard(card, many) {
    var box = el("article", null, "card");
    box.setAttribute("data-verdict", card.verdict);
    var s = card.summary || {};
    var h = el("h3", many ? "Card " + (card.index + 1) : "Card details");
    box.appendChild(h);
    var dl = el("dl");
    if (many) addRow(dl, "Result", (VERDICT[card.verdict] || VERDICT.invalid).title + (card.message ? ": " + card.message : ""), "card-verdict");
    if (s.patient) {
      addRow(dl, "Name", s.patient.name, "person patient-name");
      addRow(dl, "Birth date", s.patient.birthDate, "person birth-date");
    }
    addRow(dl, "Issuer", card.issuer_name || card.iss, "issuer");
    if (card.issuer_name && card.iss) addRow(dl, "Issuer address", card.iss);
    if (card.issuedAt) addRow(dl, "Issued", card.issuedAt.slice(0, 10));
    if (card.expiresAt) addRow(dl, "Expires", card.expiresAt.slice(0, 10));
    box.appendChild(dl);

    var imm = s.immunizations || [];
    if (imm.length) {
      box.appendChild(el("h3", "Immunizations"));
      var ul = el("ul", null, "immunizations");
      imm.forEach(function (i) {
        var t = codingName(i.vaccine);
        if (i.date) t += " \u2014 " + i.date.slice(0, 10);
        if (i.status && i.status !== "completed") t += " (" + i.status + ")";
        ul.appendChild(el("li", t));
      });
      box.appendChild(ul);
    }
    var labs = s.labResults || [];
    if (labs.length) {
      box.appendChild(el("h3", "Lab results"));
      var ul2 = el("ul", null, "lab-results");
      labs.forEach(function (r) {
        var t = codingName(r.test);
        if (r.value) t += ": " + r.value;
        if (r.date) t += " \u2014 " + r.date.slice(0, 10);
        ul2.appendChild(el("li", t));
      });
      box.appendChild(ul2);
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
    cards.forEach(function (c) { cardsBox.appendChild(renderCard(c, cards.length > 1)); });
    if (res.link) {
      // Where the cards came from; the label is the sender's own words.
      var note = el("p", "Opened from a SMART Health Link", "link-note");
      if (res.link.label) note.textContent += " labelled \u201c" + res.link.label + "\u201d by its sender";
      note.textContent += ".";
      cardsBox.insertBefore(note, cardsBox.firstChild);
    }
    var u = renderUnverified(res.link);
    if (u) cardsBox.appendChild(u);
    showVerdict(res.verdict, res.message);
    if (res.link && !cards.length) $("verdict-title").textContent = "Nothing verified";
  }

  function renderProblem(p) {
    $("cards").textContent = "";
    var reason = (p && p.title) || "The card could not be checked.";
    showVerdict("invalid", reason);
    $("verdict").setAttribute("data-code", (p && p.code) || "");
  }

  function reset() {
    closePasscode();
    $("result").hidden = true;
    $("inputs").hidden = false;
    $("cards").textContent = "";
    $("verdict").removeAttribute("data-verdict");
    $("verdict").removeAttribute("data-code");
    $("paste").value = "";
    $("file").value = "";
    setBusy("");
    resetChunks();
  }

  function setBusy(msg) { $("busy").textContent = msg; }

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

  function post(body, contentType, input) {
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
        setBusy("");
        var code = r.body && r.body.code;
        if (!r.ok && input && (code === "passcode_required" || code === "passcode_wrong")) askPasscode(input, r.body);
        else if (r.ok && r.body && r.body.cards) render(r.body); else renderProblem(r.body);
      }, function () {
        setBusy("");
        renderProblem({ title: "The verification service could not be reached." });
      });
  }

  function verifyText(text) {
    stopCamera();
    return sendText(text, "");
  }

  function sendText(text, passcode) {
    var body = { input: text };
    if (passcode) body.passcode = passcode;
    return post(JSON.stringify(body), "application/json", { text: text });
  }

  function verifyImageOnServer(file, passcode) {
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
  function handleScan(text) {
    text = (text || "").trim();
    if (isLink(text)) { verifyText(text); return true; }
    if (!/^shc:\//i.test(text)) {
      $("camera-status").textContent = "That QR code is not a SMART Health Card or Link. Keep scanning.";
      return false;
    }
    var m = /^shc:\/(\d+)\/(\d+)\//i.exec(text);
    if (!m) { verifyText(text); return true; }
    var idx = parseInt(m[1], 10), total = parseInt(m[2], 10);
    if (total < 1 || total > 99 || idx < 1 || idx > total) {
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
      $("camera-status").textContent = "Point the camera at the QR code.";
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
      if (text && handleScan(text) && !scanning) return;
      timer = setTimeout(tick, SCAN_INTERVAL_MS);
    }, function () { timer = setTimeout(tick, SCAN_INTERVAL_MS); });
  }

  function stopCamera() {
    scanning = false;
    if (timer) { clearTimeout(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    $("video").srcObject = null;
    $("video-wrap").hidden = true;
    $("camera-start").hidden = false;
    $("camera-stop").hidden = true;
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
      if (!text || !handleScan(text)) verifyImageOnServer(f);
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
    $("again").addEventListener("click", function () { reset(); $("camera-start").focus(); });
    document.body.setAttribute("data-ready", detector ? "barcodedetector" : "jsqr");
  });
})();
