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
})();
