// The screening log's forms (templates/outcomes/_case_screening_log.html): show the reason
// list only for a step that needs one, with only that step's reasons. Without JavaScript
// every reason shows, grouped by step, and the server keeps the one of the step chosen.
(function () {
  "use strict";
  function update(form) {
    var step = form.querySelector("[data-screening-step]");
    var wrap = form.querySelector("[data-screening-reason]");
    if (!step || !wrap) { return; }
    var select = wrap.querySelector("select");
    var groups = wrap.querySelectorAll("optgroup[data-step]");
    var any = false;
    groups.forEach(function (group) {
      var on = group.getAttribute("data-step") === step.value;
      group.hidden = !on;
      group.disabled = !on;
      if (on) { any = true; }
    });
    wrap.hidden = !any;
    if (select && select.selectedOptions.length && select.selectedOptions[0].parentElement.disabled) {
      select.value = "";
    }
  }
  document.querySelectorAll(".screening-form").forEach(function (form) {
    var step = form.querySelector("[data-screening-step]");
    if (step) { step.addEventListener("change", function () { update(form); }); }
    update(form);
  });
})();
