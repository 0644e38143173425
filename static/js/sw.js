/* Lớp Số service worker (our own; docs/offline.md). Keeps the pages a trainer or a mentor
   works from — the day, today's rosters and live pages, the card scanner, the mentor's list
   and meeting form — and the app's own static files, so that they open without signal once
   they were opened (or prefetched) with signal. Network first for pages (a few seconds, then
   the kept copy), cache first for static files. It never touches other origins, POSTs or
   any other page: what is not kept fails as usual. */
"use strict";

const CACHE = "lopso-v1";
const KEPT = [
  /^\/today$/,
  /^\/sessions\/\d+\/(roster|live|scan)$/,
  /^\/mentor$/,
  /^\/mentor\/meeting\/new$/,
];
const WAIT_MS = 4000;
// What the kept pages need to open offline, fetched when the worker is installed.
const STATIC = [
  "/static/js/offline.js",
  "/static/js/scan.js",
  "/static/css/app.css",
  "/static/css/learner.css",
  "/static/css/live.css",
  "/static/css/roster.css",
  "/static/css/mentor.css",
  "/static/favicon.ico",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(STATIC)).then(() => self.skipWaiting())
  );
});
self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim())
  );
});

function kept(url) {
  if (url.origin !== self.location.origin) return false;
  // The meeting form may be opened for a household or a person (?household=…): offline it
  // opens as the plain form.
  const plain = !url.search || url.pathname === "/mentor/meeting/new";
  return plain && KEPT.some((re) => re.test(url.pathname));
}

function staticFile(url) {
  return url.origin === self.location.origin && url.pathname.startsWith("/static/");
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then((value) => { clearTimeout(timer); resolve(value); },
                 (error) => { clearTimeout(timer); reject(error); });
  });
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await withTimeout(fetch(request), WAIT_MS);
    if (response.ok && !response.redirected && !new URL(request.url).search) {
      await cache.put(request.url, response.clone());
    }
    return response;
  } catch (error) {
    const copy = await cache.match(request.url, {ignoreSearch: true});
    if (copy) return copy;
    throw error;
  }
}

// Static addresses carry the file's hash (/static/<hash>/css/app.css, webapp/assets.py): the
// hashed copy is served when kept (it cannot be stale); otherwise the network, kept under both
// its address and the plain one (/static/css/app.css); without network, the plain one — the
// last version this phone saw.
function plainStatic(url) {
  return url.origin + url.pathname.replace(/^\/static\/[0-9a-f]{12}\//, "/static/");
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const exact = await cache.match(request.url);
  if (exact) return exact;
  const plain = plainStatic(new URL(request.url));
  try {
    const response = await fetch(request);
    if (response.ok) {
      await cache.put(request.url, response.clone());
      await cache.put(plain, response.clone());
    }
    return response;
  } catch (error) {
    const copy = await cache.match(plain);
    if (copy) return copy;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (staticFile(url)) {
    event.respondWith(cacheFirst(request));
  } else if (kept(url) && request.headers.get("HX-Request") !== "true") {
    event.respondWith(networkFirst(request));
  }
});
