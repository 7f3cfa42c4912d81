/* QR survey: pick NPS 0-10 and the CSI answers, post JSON to the same URL. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("cx-config").textContent);
  var S = cfg.strings;
  var form = document.getElementById("survey-form");
  if (!form) return;
  var answers = { nps: null, csi: {} };
  var submit = form.querySelector(".submit");
  var message = document.getElementById("message");

  function choose(group, button) {
    var all = group.querySelectorAll("button");
    for (var i = 0; i < all.length; i++) all[i].setAttribute("aria-pressed", "false");
    button.setAttribute("aria-pressed", "true");
    var value = parseInt(button.getAttribute("data-value"), 10);
    var q = group.getAttribute("data-question");
    if (q === "nps") answers.nps = value; else answers.csi[q] = value;
    submit.disabled = answers.nps === null;
    message.textContent = "";
  }

  var groups = form.querySelectorAll(".scale");
  for (var g = 0; g < groups.length; g++) {
    (function (group) {
      group.addEventListener("click", function (ev) {
        var b = ev.target.closest("button");
        if (b) { ev.preventDefault(); choose(group, b); }
      });
    })(groups[g]);
  }

  function finish(title, text) {
    var box = document.createElement("section");
    box.className = "done";
    box.innerHTML = "<h2></h2><p></p>";
    box.querySelector("h2").textContent = title;
    box.querySelector("p").textContent = text;
    form.replaceWith(box);
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (answers.nps === null) { message.textContent = S.pick_nps; return; }
    submit.disabled = true;
    submit.textContent = S.sending;
    var body = { nps: answers.nps, why: form.querySelector("textarea").value, csi: answers.csi };
    fetch(window.location.pathname, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body), credentials: "same-origin"
    }).then(function (r) {
      return r.json().then(function (j) { return { status: r.status, body: j }; });
    }).then(function (res) {
      if (res.status === 202) finish(S.done_title, S.done_text);
      else if (res.body.error === "cooldown") finish(S.done_title, res.body.message);
      else {
        message.textContent = res.status === 429 ? S.rate_limited : (res.body.message || S.failed);
        submit.disabled = false; submit.textContent = S.submit;
      }
    }).catch(function () {
      message.textContent = S.failed;
      submit.disabled = false; submit.textContent = S.submit;
    });
  });
})();
