// Service worker of the scanning page (issue 11): keeps the page, the
// on-device verifier and the last trust snapshot so on-device checking
// works with the network cut. It never sees a card: POST /v1/verify is not
// intercepted and nothing but these public files is cached.
//
// Every GET it handles goes to the network first and falls back to the
// cached copy when the network fails, so an updated page or snapshot is
// used as soon as it can be fetched.
"use strict";

var CACHE = "shc-door-v1";
var SHELL = [
  "/",
  "/static/app.js",
  "/static/style.css",
  "/static/vendor/jsQR.js",
  "/static/wasm/wasm_exec.js",
  "/static/wasm/verifier.wasm.gz",
  "/static/manifest.json",
  "/static/icons/icon.svg",
  "/static/icons/icon-192.png"
];
var KEEP = /^\/(static\/.*|v1\/trust-snapshot)?$/;

self.addEventListener("install", function (ev) {
  ev.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(SHELL); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (ev) {
  ev.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (ev) {
  var req = ev.request;
  var url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin || !KEEP.test(url.pathname)) return;
  // The page's address carries settings (?mode=device, ?clear=…): one copy.
  var key = url.pathname === "/" ? "/" : req;
  ev.respondWith(fetch(req).then(function (res) {
    if (res.ok) {
      var copy = res.clone();
      caches.open(CACHE).then(function (c) { return c.put(key, copy); });
    }
    return res;
  }, function () {
    return caches.match(key).then(function (hit) { return hit || Response.error(); });
  }));
});
