/* Autosave for the reflection form: the whole form is posted (as the plain form would be) a
   moment after the student stops typing. The server stores it idempotently, so a repeated or
   reordered save is harmless. The status line (role="status") says "Saving…" then "Saved".
   Without JavaScript the form still works through its Save and Hand in buttons. */
(function () {
  "use strict";
  var DELAY = 800;

  function setup(form) {
    var url = form.getAttribute("data-autosave-url");
    var status = form.querySelector("[data-autosave-status]");
    if (!url || !status) return;
    var timer = null;
    var inFlight = false;
    var again = false;
    var lastSent = null;

    function say(key) {
      status.textContent = status.getAttribute("data-" + key) || "";
      status.setAttribute("data-state", key);
    }

    function payload() {
      var data = new FormData(form);
      data.delete("action");
      return data;
    }

    function fingerprint(data) {
      var parts = [];
      data.forEach(function (value, key) {
        if (key !== "csrfmiddlewaretoken") parts.push(key + "=" + value);
      });
      return parts.join("&");
    }

    function save() {
      timer = null;
      if (inFlight) {
        again = true;
        return;
      }
      var data = payload();
      var print = fingerprint(data);
      if (print === lastSent) return;
      inFlight = true;
      say("saving");
      var token = form.querySelector("input[name=csrfmiddlewaretoken]");
      fetch(url, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-CSRFToken": token ? token.value : "", "X-Requested-With": "fetch" },
      })
        .then(function (response) {
          return response.json().then(function (body) {
            return { ok: response.ok, code: response.status, body: body };
          });
        })
        .then(function (result) {
          if (result.ok) {
            lastSent = print;
            say("saved");
          } else if (result.code === 409) {
            say("locked");
          } else {
            say("invalid");
          }
        })
        .catch(function () {
          say("error");
        })
        .then(function () {
          inFlight = false;
          if (again) {
            again = false;
            schedule();
          }
        });
    }

    function schedule() {
      if (timer) window.clearTimeout(timer);
      timer = window.setTimeout(save, DELAY);
    }

    lastSent = fingerprint(payload());
    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    // Leaving the page right after typing: save what is there now.
    window.addEventListener("pagehide", function () {
      if (timer) {
        window.clearTimeout(timer);
        var data = payload();
        if (fingerprint(data) !== lastSent && navigator.sendBeacon) navigator.sendBeacon(url, data);
      }
    });
  }

  document.querySelectorAll("form[data-autosave-url]").forEach(setup);
})();
