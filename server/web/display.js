/* Loyalty display: today's button shares, pushed over /ws (topic display:{location}).
   Reconnects with backoff; shows a discreet status while offline and hides the numbers
   once they are older than stale_after_s, instead of showing stale figures forever. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("cx-config").textContent);
  var S = cfg.strings;
  var topic = "display:" + cfg.location;
  var PALETTE = { 2: ["#e5484d", "#30a46c"], 3: ["#e5484d", "#f5a524", "#30a46c"],
    4: ["#e5484d", "#f76b15", "#8bc34a", "#30a46c"],
    5: ["#e5484d", "#f76b15", "#f5c524", "#8bc34a", "#30a46c"] };
  var el = function (id) { return document.getElementById(id); };
  var ws = null, backoff = 1000, lastMessage = 0, lastData = 0, shown = null, denied = false;

  function face(value, n, color) {
    var mood = n > 1 ? (value - 1) / (n - 1) * 2 - 1 : 0;       // -1 sad .. +1 happy
    var y = 66, dy = Math.round(mood * 16);
    return '<svg viewBox="0 0 100 100" role="img" aria-hidden="true">' +
      '<circle cx="50" cy="50" r="46" fill="' + color + '"/>' +
      '<circle cx="35" cy="42" r="6" fill="#1b1b1b"/><circle cx="65" cy="42" r="6" fill="#1b1b1b"/>' +
      '<path d="M28 ' + (y - dy / 2) + ' Q50 ' + (y + dy * 1.6) + ' 72 ' + (y - dy / 2) +
      '" stroke="#1b1b1b" stroke-width="6" fill="none" stroke-linecap="round"/></svg>';
  }

  function div(cls, text) {
    var d = document.createElement("div");
    d.className = cls;
    if (text !== undefined) d.textContent = text;
    return d;
  }

  function build(n) {                          // DOM nodes and textContent: no server text as HTML
    n = Math.min(5, Math.max(2, parseInt(n, 10) || 3));
    var box = el("buttons"), colors = PALETTE[n];
    box.textContent = "";
    for (var v = n; v >= 1; v--) {                                 // best on the left
      var cell = div("button"), pct = div("pct", "—"), bar = div("bar"), fill = div("fill");
      cell.setAttribute("data-value", v);
      cell.innerHTML = face(v, n, colors[v - 1]);                 // numbers and the palette only
      pct.setAttribute("data-value", v);
      fill.style.background = colors[v - 1];                      // CSSOM: allowed by the CSP
      bar.appendChild(fill);
      cell.appendChild(pct);
      cell.appendChild(bar);
      var label = S["btn_" + v + "_of_" + n];
      if (label) cell.appendChild(div("label", label));
      box.appendChild(cell);
    }
    shown = n;
  }

  function render(d) {
    if (shown !== d.buttons) build(d.buttons);  // d.buttons: 2..5
    var cells = el("buttons").querySelectorAll(".button");
    for (var i = 0; i < cells.length; i++) {
      var v = parseInt(cells[i].getAttribute("data-value"), 10);
      var share = d.shares.length ? d.shares[v - 1] : null;
      cells[i].querySelector(".pct").textContent = share === null ? "—" : Math.round(share * 100) + "%";
      cells[i].querySelector(".fill").style.width = share === null ? "0" : (share * 100).toFixed(1) + "%";
    }
    el("count").textContent = d.ratings ? S.ratings.replace("{n}", d.ratings) : S.first;
    el("thanks").textContent = S.thanks;
    lastData = Date.now();
    document.body.classList.remove("stale");
  }

  function status(text, cls) {
    var box = el("status");
    box.className = "status" + (text ? " visible" : "") + (cls ? " " + cls : "");
    el("status-text").textContent = text || "";
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    // no token here: the page session cookie (HttpOnly) goes with the handshake
    ws = new WebSocket(scheme + window.location.host + cfg.ws_path);
    ws.onopen = function () {
      lastMessage = Date.now();
      ws.send(JSON.stringify({ op: "subscribe", topics: [topic] }));
    };
    ws.onmessage = function (ev) {
      lastMessage = Date.now();
      var msg = JSON.parse(ev.data);
      if ((msg.type === "snapshot" || msg.type === "update") && msg.topic === topic) {
        backoff = 1000; denied = false;
        status("");
        render(msg.data);
      } else if (msg.type === "error" && (msg.code === "unauthorized" || msg.code === "forbidden")) {
        denied = true;
        status(S.denied, "denied");
      }
    };
    ws.onclose = function (ev) {
      ws = null;
      if (ev.code === 4001) denied = true;
      if (!denied) status(S.reconnecting);
      var wait = denied ? 60000 : backoff + Math.random() * 500;
      backoff = Math.min(backoff * 2, 15000);
      setTimeout(connect, wait);
    };
  }

  setInterval(function () {                                        // liveness and staleness
    var now = Date.now();
    if (ws && ws.readyState === 1 && now - lastMessage > cfg.heartbeat_s * 2500) ws.close();
    if (!ws || ws.readyState !== 1) {
      if (!denied) status(S.reconnecting);
      if (lastData && now - lastData > cfg.stale_after_s * 1000) {
        document.body.classList.add("stale");
        var pcts = document.querySelectorAll(".pct");
        for (var i = 0; i < pcts.length; i++) pcts[i].textContent = "—";
        el("count").textContent = S.stale;
      }
    }
  }, 1000);

  if (cfg.initial) render(cfg.initial); else build(3);
  connect();
})();
