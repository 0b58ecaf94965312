// Panel's small behaviours. Loaded as a file: the CSP forbids inline scripts.
(function () {
  "use strict";
  // Forms with data-confirm ask before they submit.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  }, true);
  // Send the CSRF token with htmx requests.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('input[name="csrf_token"]');
    if (meta) { event.detail.headers["X-CSRFToken"] = meta.value; }
  });
  // A readability hint shows its refusal too (a text too long to check as it is typed: 413).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var status = event.detail.xhr.status;
    if (target && target.classList.contains("readability-hint") && (status === 400 || status === 413)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
    // The image route form shows a refused value's reason in place (422).
    if (target && target.id === "hospital-images" && status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  // A table that scrolls sideways (a phone, a narrow window) can be scrolled with the keyboard:
  // its wrapper joins the tab order while, and only while, it overflows (WCAG 2.1.1).
  function scrollableTables() {
    document.querySelectorAll(".table-responsive").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth + 1) {
        if (!wrap.hasAttribute("tabindex")) {
          wrap.setAttribute("tabindex", "0");
          wrap.setAttribute("data-scroll-focus", "");
        }
      } else if (wrap.hasAttribute("data-scroll-focus")) {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("data-scroll-focus");
      }
    });
  }
  window.addEventListener("resize", scrollableTables);
  document.addEventListener("DOMContentLoaded", scrollableTables);
  document.addEventListener("htmx:afterSwap", scrollableTables);
})();
