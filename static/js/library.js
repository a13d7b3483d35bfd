// Text library: as a teacher pastes a text, say how big it is and warn before the server refuses it.
// Progressive enhancement only: the server checks the size again (protocols/text_import.py).
(function () {
  "use strict";
  var form = document.querySelector("form[data-max-bytes]");
  if (!form) return;
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10);
  var encoder = new TextEncoder();
  var areas = form.querySelectorAll("textarea");

  function kb(n) { return Math.ceil(n / 1000); }

  function update() {
    var total = 0;
    areas.forEach(function (area) { total += encoder.encode(area.value).length; });
    var tooLong = total > maxBytes;
    areas.forEach(function (area) {
      var note = form.querySelector('[data-size-for="' + area.id + '"]');
      var own = encoder.encode(area.value).length;
      if (!note) return;
      if (!own) { note.textContent = ""; note.classList.remove("paste-size-error"); return; }
      var template = form.getAttribute(tooLong ? "data-msg-too-long" : "data-msg-size");
      note.textContent = template.replace("SIZE", String(kb(own))).replace("MAX", String(kb(maxBytes)));
      note.classList.toggle("paste-size-error", tooLong);
      if (tooLong) { area.setAttribute("aria-invalid", "true"); } else { area.removeAttribute("aria-invalid"); }
    });
  }

  areas.forEach(function (area) { area.addEventListener("input", update); });
  update();
})();
