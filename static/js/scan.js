/* The trainer's scan page: read learner cards with the camera (BarcodeDetector) and check
   each one in; without BarcodeDetector the page keeps its photo and typed-code forms. */
(function () {
  'use strict';

  var REPEAT_MS = 3000; // the same card seen again within this time is not sent again
  var INTERVAL_MS = 200;

  var resultBox = document.getElementById('scan-result');
  var section = document.getElementById('scan-camera');
  if (!resultBox || !section) { return; }

  function csrfToken() {
    try {
      var headers = JSON.parse(document.body.getAttribute('hx-headers') || '{}');
      if (headers['X-CSRFToken']) { return headers['X-CSRFToken']; }
    } catch (ignored) { /* fall back to a form's hidden field */ }
    var input = document.querySelector('input[name="csrf_token"]');
    return input ? input.value : '';
  }

  // As templates/checkin/scan_result.html draws them: a new check-in, a card scanned again
  // (its own colour, icon and words) or a refusal.
  var ICONS = { 'new': '\u2713', repeat: '\u21bb', refused: '\u2715' };
  var CLASSES = { 'new': 'scan-ok', repeat: 'scan-repeat', refused: 'scan-error' };

  function show(results) {
    resultBox.textContent = '';
    results.forEach(function (result) {
      var kind = ICONS[result.kind] ? result.kind : 'refused';
      var line = document.createElement('p');
      line.className = 'scan-outcome ' + CLASSES[kind];
      line.setAttribute('data-kind', kind);
      var icon = document.createElement('span');
      icon.className = 'scan-icon';
      icon.setAttribute('aria-hidden', 'true');
      icon.textContent = ICONS[kind];
      line.appendChild(icon);
      line.appendChild(document.createTextNode(' '));
      if (result.name) {
        var name = document.createElement('strong');
        name.className = 'scan-name';
        name.textContent = result.name;
        line.appendChild(name);
        line.appendChild(document.createTextNode(' '));
      }
      var message = document.createElement('span');
      message.className = 'scan-message';
      message.textContent = result.message;
      line.appendChild(message);
      resultBox.appendChild(line);
    });
  }

  // htmx forms (photo, typed code): empty the form after an answer, ready for the next card.
  document.body.addEventListener('htmx:afterRequest', function (event) {
    var form = event.detail && event.detail.elt;
    if (form && form.hasAttribute && form.hasAttribute('data-scan-reset') && event.detail.successful) {
      form.reset();
      var input = form.querySelector('input[name="code"]');
      if (input) { input.focus(); }
    }
  });

  // htmx 2 does not swap error answers: say what happened (a photo over the size limit).
  document.body.addEventListener('htmx:responseError', function (event) {
    var form = event.detail && event.detail.elt;
    if (form && form.hasAttribute && form.hasAttribute('data-scan-reset')) {
      var tooLarge = event.detail.xhr && event.detail.xhr.status === 413;
      show([{ ok: false, kind: 'refused', name: '', message: section.getAttribute(tooLarge ? 'data-too-large' : 'data-failed') }]);
    }
  });
  document.body.addEventListener('htmx:sendError', function (event) {
    var form = event.detail && event.detail.elt;
    if (form && form.hasAttribute && form.hasAttribute('data-scan-reset')) {
      show([{ ok: false, kind: 'refused', name: '', message: section.getAttribute('data-failed') }]);
    }
  });

  if (!('BarcodeDetector' in window) || !navigator.mediaDevices ||
      !navigator.mediaDevices.getUserMedia) {
    return; // the photo form is the way here
  }

  var video = document.getElementById('scan-video');
  var startButton = document.getElementById('scan-start');
  var stopButton = document.getElementById('scan-stop');
  var noCameraHint = document.getElementById('scan-no-camera');
  var detector = null;
  var stream = null;
  var busy = false;
  var last = { text: '', at: 0 };

  function send(text) {
    busy = true;
    var body = new FormData();
    body.append('scanned', text);
    fetch(section.getAttribute('data-scan-url'), {
      method: 'POST',
      body: body,
      credentials: 'same-origin',
      headers: { 'X-CSRFToken': csrfToken(), 'Accept': 'application/json' }
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (data) {
      show(data.results || []);
    }).catch(function () {
      show([{ ok: false, kind: 'refused', name: '', message: section.getAttribute('data-failed') }]);
    }).then(function () {
      busy = false;
    });
  }

  function seen(text) {
    var now = Date.now();
    var repeat = text === last.text && now - last.at < REPEAT_MS;
    last = { text: text, at: now };
    if (!repeat) { send(text); }
  }

  function tick() {
    if (!stream) { return; }
    if (busy || video.readyState < 2) {
      window.setTimeout(tick, INTERVAL_MS);
      return;
    }
    detector.detect(video).then(function (codes) {
      if (codes.length && codes[0].rawValue) { seen(codes[0].rawValue); }
    }).catch(function () { /* a frame that could not be read: try the next */ })
      .then(function () { window.setTimeout(tick, INTERVAL_MS); });
  }

  function stop() {
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
    }
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    stopButton.hidden = true;
    startButton.hidden = false;
  }

  function start() {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        video.hidden = false;
        startButton.hidden = true;
        stopButton.hidden = false;
        return video.play();
      })
      .then(function () { tick(); })
      .catch(function () {
        stop();
        show([{ ok: false, kind: 'refused', name: '', message: section.getAttribute('data-camera-failed') }]);
      });
  }

  function enable() {
    detector = new window.BarcodeDetector({ formats: ['qr_code'] });
    section.hidden = false;
    if (noCameraHint) { noCameraHint.hidden = true; }
    startButton.addEventListener('click', start);
    stopButton.addEventListener('click', stop);
    document.addEventListener('visibilitychange', function () {
      if (document.hidden) { stop(); } // the camera light goes off when the trainer switches away
    });
  }

  if (typeof window.BarcodeDetector.getSupportedFormats === 'function') {
    window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf('qr_code') !== -1) { enable(); }
    }).catch(function () { /* keep the photo form */ });
  } else {
    enable();
  }
}());
