// Risk assessments: live conditional questions and small helpers. A file, because the CSP forbids inline JS.
(function () {
  "use strict";

  // The questionnaire posts the step's answers on every change (hx-post, hx-swap="none"); the server answers
  // with HX-Trigger {"assessment:visibility": {"shown": [...], "hidden": [...]}}. Toggling the `hidden`
  // attribute (rather than swapping HTML) keeps the focus and what the person is typing where it is.
  document.addEventListener("assessment:visibility", function (event) {
    var detail = event.detail || {};
    (detail.shown || []).forEach(function (id) { toggle(id, true); });
    (detail.hidden || []).forEach(function (id) { toggle(id, false); });
    var empty = document.getElementById("section-empty");
    if (empty) empty.hidden = (detail.shown || []).length > 0;
  });

  function toggle(id, show) {
    var block = document.getElementById("question-" + id);
    if (!block || block.hidden === !show) return;
    block.hidden = !show;
    if (show) block.classList.add("just-shown");
  }

  // "None of these" style options: choosing one clears the others, and the reverse.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[type=checkbox][data-choice-group]") || !box.checked) return;
    var group = document.querySelectorAll("input[data-choice-group='" + box.dataset.choiceGroup + "']");
    group.forEach(function (other) {
      if (other === box) return;
      if (box.hasAttribute("data-exclusive") || other.hasAttribute("data-exclusive")) other.checked = false;
    });
  });

  // <button data-print> prints the page (the print stylesheet turns the assessment into a document).
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });
})();
