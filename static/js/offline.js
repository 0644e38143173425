/* Lớp Số: taps that survive weak signal (docs/offline.md). Our own code, no framework.

   On the pages that opt in (forms with data-offline="mark" | "code" | "meeting"): a tap made
   while the phone is offline — or whose request fails or takes more than a few seconds — is
   kept in this phone's queue (localStorage) with the moment it was made and a random nonce,
   shown as WAITING (never as recorded), and sent to /offline/sync as soon as the signal is
   back: automatically, again and again until the server answers. The server applies each
   action once (by its nonce), with its own time, through the same services as online taps,
   and says for each whether it was recorded or refused and why; the page shows it. The queue
   survives reloads. Without JavaScript the pages work online as before. */
(function () {
  "use strict";

  var KEY = "lopso-offline-queue";
  var CACHE = "lopso-v1";
  var TIMEOUT_MS = 5000;
  var RETRY_MS = 8000;
  var panel = document.getElementById("offline-status");
  if (!panel || !window.localStorage) return;
  var T = JSON.parse(panel.getAttribute("data-strings") || "{}");
  var offline = !navigator.onLine;
  var syncing = false;
  var lastSubmitter = new WeakMap();

  function say(key, values) {
    var text = T[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("%(" + name + ")s").join(String(values[name]));
    });
    return text;
  }

  function load() {
    try {
      return JSON.parse(localStorage.getItem(KEY)) || [];
    } catch (error) {
      return [];
    }
  }

  function save(queue) {
    localStorage.setItem(KEY, JSON.stringify(queue));
  }

  function nonce() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function hhmm(iso) {
    return new Date(iso).toLocaleTimeString("vi-VN", {
      hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Ho_Chi_Minh"
    });
  }

  function fetchWithin(url, options, ms) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, ms);
    options.signal = controller.signal;
    options.credentials = "same-origin";
    return fetch(url, options).finally(function () { clearTimeout(timer); });
  }

  // --- what a form says ---------------------------------------------------------------------

  function formFields(form) {
    var fields = {};
    new FormData(form).forEach(function (value, name) {
      if (name === "csrf_token" || typeof value !== "string") return;
      if (name in fields) {
        fields[name] = [].concat(fields[name], value);
      } else {
        fields[name] = value;
      }
    });
    return fields;
  }

  function actionOf(form, submitter) {
    var kind = form.getAttribute("data-offline");
    var action = {kind: kind, nonce: nonce(), at: new Date().toISOString(), state: "waiting"};
    if (kind === "mark") {
      action.session_id = Number(form.getAttribute("data-session"));
      action.person_id = Number(form.getAttribute("data-person"));
      action.status = submitter ? submitter.value : "present";
      action.label = form.getAttribute("data-name") || "";
    } else if (kind === "code") {
      action.session_id = Number(form.getAttribute("data-session"));
      var code = form.querySelector("[name=code]");
      action.code = code ? code.value.trim() : "";
      action.label = action.code;
      if (!action.code) return null;
    } else if (kind === "meeting") {
      // A new nonce for each meeting kept (the phone's copy of the form carries one nonce).
      action.form = formFields(form);
      action.form.nonce = action.nonce;
      action.label = say("meeting");
    } else {
      return null;
    }
    return action;
  }

  function enqueue(form, submitter) {
    var action = actionOf(form, submitter);
    if (!action) return;
    var queue = load();
    if (queue.some(function (a) { return a.nonce === action.nonce; })) return;
    queue.push(action);
    save(queue);
    if (action.kind === "code") {
      var input = form.querySelector("[name=code]");
      if (input) input.value = "";
    }
    if (action.kind === "meeting") form.reset();
    render();
    setTimeout(sync, 0);
  }

  // --- catching the taps --------------------------------------------------------------------

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[type=submit], button:not([type])");
    if (button && button.form && button.form.hasAttribute("data-offline")) {
      lastSubmitter.set(button.form, button);
    }
  }, true);

  // When a tap is kept rather than sent as a plain request: a roster tap or a typed learner
  // code when offline or on the phone's copy of the page (no htmx: an htmx request that
  // fails is kept by failed() below); a meeting when offline.
  function keeps(form) {
    var kind = form.getAttribute("data-offline");
    if (kind === "meeting") return offline;
    return offline || !window.htmx;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-offline")) return;
    if (!keeps(form)) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    enqueue(form, event.submitter || lastSubmitter.get(form));
  }, true);

  // Online but the request failed or took too long: keep the tap too.
  function failed(event) {
    var form = event.detail && event.detail.elt && event.detail.elt.closest("form[data-offline]");
    if (!form) return;
    offline = true;
    enqueue(form, lastSubmitter.get(form));
  }
  document.addEventListener("htmx:sendError", failed);
  document.addEventListener("htmx:timeout", failed);
  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) window.htmx.config.timeout = TIMEOUT_MS;
  });

  // --- sending ------------------------------------------------------------------------------

  function sendable(action) {
    var copy = {};
    Object.keys(action).forEach(function (name) {
      if (name !== "state" && name !== "result" && name !== "label") copy[name] = action[name];
    });
    return copy;
  }

  function sync() {
    var waiting = load().filter(function (a) { return a.state === "waiting"; });
    if (syncing || !waiting.length) return;
    syncing = true;
    render();
    fetchWithin("/offline/token", {cache: "no-store", headers: {"Accept": "application/json"}}, TIMEOUT_MS)
      .then(function (response) {
        if (response.redirected || !response.ok) throw new Error("token " + response.status);
        return response.json();
      })
      .then(function (token) {
        return fetchWithin("/offline/sync", {
          method: "POST",
          headers: {"Content-Type": "application/json", "X-CSRFToken": token.csrf},
          body: JSON.stringify({actions: waiting.slice(0, 200).map(sendable)})
        }, 3 * TIMEOUT_MS);
      })
      .then(function (response) {
        if (!response.ok) throw new Error("sync " + response.status);
        return response.json();
      })
      .then(function (data) {
        var answers = {};
        data.results.forEach(function (r) { answers[r.nonce] = r; });
        var queue = load();
        queue.forEach(function (a) {
          var answer = answers[a.nonce];
          if (answer) {
            a.state = answer.ok ? "sent" : "refused";
            a.result = answer;
          }
        });
        save(queue);
        offline = false;
      })
      .catch(function () {
        offline = true;
      })
      .finally(function () {
        syncing = false;
        render();
      });
  }

  window.addEventListener("online", function () { offline = false; sync(); });
  window.addEventListener("offline", function () { offline = true; render(); });
  setInterval(function () { if (load().some(function (a) { return a.state === "waiting"; })) sync(); }, RETRY_MS);

  // --- showing ------------------------------------------------------------------------------

  function line(row, text, kind) {
    var found = row.querySelector(".offline-line");
    if (!found) {
      found = document.createElement("span");
      found.className = "offline-line";
      var cell = row.querySelector("th") || row;
      cell.appendChild(found);
    }
    found.setAttribute("data-state", kind);
    found.textContent = text;
  }

  function showOnRows(queue) {
    queue.forEach(function (a) {
      if (a.kind !== "mark") return;
      var form = document.querySelector(
        "form[data-offline=mark][data-session='" + a.session_id + "'][data-person='" + a.person_id + "']"
      );
      if (!form) return;
      var row = form.closest("tr") || form;
      var status = T["status_" + a.status] || a.status;
      if (a.state === "waiting") {
        row.classList.add("queued");
        line(row, say("waiting_mark", {status: status, time: hhmm(a.at)}), "waiting");
      } else if (a.state === "sent") {
        row.classList.remove("queued");
        var final = a.result.status ? (T["status_" + a.result.status] || a.result.status) : status;
        if (a.result.code === "already_recorded") {
          line(row, say("already_mark", {message: a.result.message}), "sent");
        } else {
          line(row, say("sent_mark", {status: final, time: a.result.recorded_at || hhmm(a.at)}), "sent");
        }
        form.querySelectorAll("button[name=status]").forEach(function (b) {
          b.setAttribute("aria-pressed", b.value === a.result.status ? "true" : "false");
        });
      } else {
        row.classList.remove("queued");
        line(row, say("refused_mark", {message: a.result.message}), "refused");
      }
    });
  }

  function listItems(list, queue, kind) {
    if (!list) return;
    list.textContent = "";
    queue.filter(function (a) { return a.kind === kind; }).forEach(function (a) {
      var item = document.createElement("li");
      item.setAttribute("data-state", a.state);
      var what = a.label + " · " + hhmm(a.at) + " — ";
      if (a.state === "waiting") what += say("waiting");
      else if (a.state === "sent") what += say("sent_item", {person: a.result.person || ""});
      else what += say("refused_item", {message: a.result.message});
      item.textContent = what;
      list.appendChild(item);
    });
  }

  function render() {
    var queue = load();
    var counts = {waiting: 0, sent: 0, refused: 0};
    queue.forEach(function (a) { counts[a.state] += 1; });
    var parts = [];
    if (offline) {
      var rendered = panel.getAttribute("data-rendered");
      parts.push(rendered ? say("offline_since", {time: hhmm(rendered)}) : say("offline"));
    }
    if (counts.waiting) parts.push(say(syncing ? "sending" : "waiting_count", {n: counts.waiting}));
    if (counts.sent) parts.push(say("sent_count", {n: counts.sent}));
    if (counts.refused) parts.push(say("refused_count", {n: counts.refused}));
    var text = panel.querySelector(".offline-text");
    text.textContent = parts.join(" · ");
    panel.hidden = !parts.length;
    panel.setAttribute("data-offline", offline ? "yes" : "no");
    var refusals = panel.querySelector(".offline-refused");
    refusals.textContent = "";
    queue.filter(function (a) { return a.state === "refused"; }).forEach(function (a) {
      var item = document.createElement("li");
      item.textContent = (a.label ? a.label + ": " : "") + a.result.message;
      refusals.appendChild(item);
    });
    var clear = panel.querySelector(".offline-clear");
    clear.hidden = !(counts.sent || counts.refused);
    showOnRows(queue);
    listItems(document.getElementById("offline-codes"), queue, "code");
    listItems(document.getElementById("offline-meetings"), queue, "meeting");
  }

  // Signing out: the pages kept on this phone (they name people) go with the session; taps
  // not sent yet are kept unless the trainer says otherwise.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.action || !/\/auth\/logout$/.test(form.action)) return;
    var waiting = load().filter(function (a) { return a.state === "waiting"; }).length;
    if (waiting && !window.confirm(say("logout_waiting", {n: waiting}))) {
      event.preventDefault();
      return;
    }
    if (window.caches) caches.delete(CACHE);
  }, true);

  panel.querySelector(".offline-clear").addEventListener("click", function () {
    save(load().filter(function (a) { return a.state === "waiting"; }));
    render();
  });

  // --- keeping pages for later --------------------------------------------------------------

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", {scope: "/"}).catch(function () {});
  }
  function prefetch() {
    var links = document.querySelectorAll("a[data-offline-prefetch]");
    if (!links.length || !window.caches || offline) return;
    caches.open(CACHE).then(function (cache) {
      links.forEach(function (link) {
        fetch(link.href, {credentials: "same-origin"}).then(function (response) {
          if (response.ok && !response.redirected) cache.put(link.href, response);
        }).catch(function () {});
      });
    });
  }

  render();
  prefetch();
  sync();
})();
