/* Drag and drop for the havruta board (classrooms/pairing_detail.html).
 *
 * The page works without this file: every student has a "Move to…" form that posts to the
 * server. This script only adds a mouse/touchpad shortcut on top of those same forms:
 *   - drop a name on another havruta (or on "new havruta") = choose it in that student's
 *     "Move to…" select and submit the form;
 *   - drop a name on a classmate in another havruta = swap the two (a "swap:<id>" choice).
 * No inline scripts, no network calls of its own: the form submission does the work.
 */
(function () {
  "use strict";

  var board = document.querySelector("[data-pairing-board]");
  if (!board || typeof board.addEventListener !== "function") {
    return;
  }
  document.documentElement.classList.add("js-dnd");

  var dragged = null; // the .member element being dragged

  function memberOf(node) {
    return node && node.closest ? node.closest(".member[data-student]") : null;
  }

  function cardOf(node) {
    return node && node.closest ? node.closest(".havruta-card[data-havruta]") : null;
  }

  function clearTargets() {
    board.querySelectorAll(".is-drop-target").forEach(function (el) {
      el.classList.remove("is-drop-target");
    });
  }

  function submitMove(member, value, label) {
    var form = member.querySelector("form.move-form");
    var select = form && form.querySelector("select[name=to]");
    if (!select) {
      return;
    }
    var option = Array.prototype.find.call(select.options, function (o) {
      return o.value === value;
    });
    if (!option) {
      option = new Option(label || value, value);
      select.add(option);
    }
    select.value = value;
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.submit();
    }
  }

  // Only whole names are draggable; the controls inside keep working normally.
  board.querySelectorAll(".member[data-student]").forEach(function (member) {
    member.setAttribute("draggable", "true");
  });
  var newCard = board.querySelector(".havruta-new");
  if (newCard) {
    newCard.hidden = false;
  }

  board.addEventListener("dragstart", function (event) {
    var member = memberOf(event.target);
    if (!member || event.target.closest("select, button, input")) {
      return;
    }
    dragged = member;
    member.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", member.getAttribute("data-student"));
  });

  board.addEventListener("dragend", function () {
    if (dragged) {
      dragged.classList.remove("is-dragging");
    }
    dragged = null;
    clearTargets();
  });

  board.addEventListener("dragover", function (event) {
    if (!dragged) {
      return;
    }
    var target = memberOf(event.target) || cardOf(event.target);
    if (!target || cardOf(target) === cardOf(dragged)) {
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!target.classList.contains("is-drop-target")) {
      clearTargets();
      target.classList.add("is-drop-target");
    }
  });

  board.addEventListener("dragleave", function (event) {
    var target = memberOf(event.target) || cardOf(event.target);
    if (target && !target.contains(event.relatedTarget)) {
      target.classList.remove("is-drop-target");
    }
  });

  board.addEventListener("drop", function (event) {
    if (!dragged) {
      return;
    }
    var member = dragged;
    var onMember = memberOf(event.target);
    var card = cardOf(event.target);
    if (!card || card === cardOf(member)) {
      return;
    }
    event.preventDefault();
    clearTargets();
    if (onMember && onMember !== member) {
      var name = onMember.querySelector(".member-name");
      submitMove(member, "swap:" + onMember.getAttribute("data-student"), name ? name.textContent : "");
    } else {
      submitMove(member, card.getAttribute("data-havruta"));
    }
  });
})();
