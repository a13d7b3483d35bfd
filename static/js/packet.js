// The class packet page: poll the status endpoint, move the progress bar, offer the download.
// No inline script (CSP): everything the page knows comes in data-* attributes.
(function () {
  "use strict";
  var box = document.getElementById("packet");
  if (!box || !window.fetch) return;
  var bar = document.getElementById("packet-progress");
  var message = document.getElementById("packet-message");
  var download = document.getElementById("packet-download");
  var retry = document.getElementById("packet-retry");
  var url = box.getAttribute("data-status-url");
  var delay = 800;
  var lastText = "";

  function say(text) {
    if (text && text !== lastText) {
      message.textContent = text;
      lastText = text;
    }
  }

  function show(status) {
    box.setAttribute("data-state", status.state);
    bar.value = status.percent || 0;
    bar.textContent = (status.percent || 0) + "%";
    if (status.state === "ready") {
      bar.value = 100;
      say(box.getAttribute("data-text-ready"));
      download.hidden = false;
      if (status.download_url) download.href = status.download_url;
      retry.hidden = true;
      if (document.activeElement === document.body) download.focus();
      return true;
    }
    if (status.state === "failed") {
      say(box.getAttribute("data-text-failed"));
      retry.hidden = false;
      return true;
    }
    if (status.state === "running") {
      say(box.getAttribute("data-text-running")
        .replace("%(done)s", String(status.done))
        .replace("%(total)s", String(status.total)));
    } else {
      say(box.getAttribute("data-text-queued"));
    }
    return false;
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (status) {
        delay = 800;
        if (!show(status)) window.setTimeout(poll, delay);
      })
      .catch(function () {
        say(box.getAttribute("data-text-offline"));
        delay = Math.min(delay * 2, 8000);
        window.setTimeout(poll, delay);
      });
  }

  var state = box.getAttribute("data-state");
  if (state !== "ready" && state !== "failed") window.setTimeout(poll, 300);
})();
