// plptms session console: live progress by server-sent events (EventSource).
// No inline script (CSP script-src 'self'); without JavaScript, reload the page.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || live.dataset.running !== "yes" || !window.EventSource) {
    return;
  }
  function set(id, text) {
    var el = document.getElementById(id);
    if (el) { el.textContent = text; }
  }
  function show(s) {
    set("live-status", String(s.status).replace(/_/g, " "));
    set("live-state", s.state);
    set("live-train", s.train ? s.train + "/" + s.n_trains : "-");
    set("live-pulses", s.pulses_delivered + "/" + s.pulses_total);
    set("live-left", s.seconds_left === null ? "-" : Math.round(s.seconds_left) + " s (simulated)");
    var bar = document.getElementById("live-progress");
    if (bar) {
      bar.max = s.pulses_total || 1;
      bar.value = s.pulses_delivered;
    }
  }
  var source = new EventSource(live.dataset.events);
  source.addEventListener("progress", function (e) { show(JSON.parse(e.data)); });
  source.addEventListener("end", function (e) {
    source.close();
    var s = JSON.parse(e.data);
    if (s.status) { show(s); }
    set("live-note", "The session is no longer running; reloading the page.");
    window.setTimeout(function () { window.location.reload(); }, 800);
  });
  source.onerror = function () {
    set("live-note", "Live updates interrupted: reload the page.");
    source.close();
  };
}());
