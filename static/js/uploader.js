// The case's upload form, enhanced. Without JavaScript the form posts normally and the server
// redirects to the upload's page, which follows the files as they are checked.
// With it: the files are sent with XMLHttpRequest and a bar shows the bytes going; then the
// server's own progress block (imaging.upload_progress?in=card, the same state as the API) is
// loaded into the form with htmx and polls itself until every file is done; then the card's
// list of images is refreshed in place. One rendering of the results: the server's.
// The submit handler is delegated from the document, so forms loaded later by htmx work too.
(function () {
  "use strict";
  if (window.panelUploader) return;
  window.panelUploader = true;

  function withParam(url, key, value) {
    return url + (url.indexOf("?") < 0 ? "?" : "&") + key + "=" + encodeURIComponent(value);
  }

  // The card's list of series and documents, fetched again and swapped in (the form stays).
  function refreshList(form) {
    var card = form.closest("[data-images-partial]");
    var list = card && card.querySelector("[data-images-list]");
    if (!list) return;
    fetch(card.getAttribute("data-images-partial"), {
      credentials: "same-origin",
      headers: { "HX-Request": "true" },
    })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("[data-images-list]");
        if (fresh) {
          list.replaceWith(fresh);
          if (window.htmx) window.htmx.process(fresh);
        }
      })
      .catch(function () { /* the list stays as it was; the upload's page has everything */ });
  }

  // After each htmx swap: a form whose upload has just finished refreshes its card's list once.
  document.addEventListener("htmx:afterSettle", function () {
    var forms = document.querySelectorAll("form[data-uploader][data-following]");
    Array.prototype.forEach.call(forms, function (form) {
      if (form.querySelector('[data-results] .upload-progress-body[data-state="done"]')) {
        form.removeAttribute("data-following");
        form.querySelector("button[type=submit]").disabled = false;
        form.querySelector("[data-progress-text]").textContent = "";
        refreshList(form);
      }
    });
  });

  document.addEventListener("submit", function (ev) {
    var form = ev.target.closest && ev.target.closest("form[data-uploader]");
    if (!form || !window.FormData || !window.XMLHttpRequest || !window.htmx) return;
    ev.preventDefault();
    var bar = form.querySelector("[data-progress-bar]");
    var wrap = form.querySelector("[data-progress]");
    var text = form.querySelector("[data-progress-text]");
    var box = form.querySelector("[data-results]");
    var button = form.querySelector("button[type=submit]");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    wrap.classList.remove("d-none");
    bar.style.width = "0%";
    wrap.setAttribute("aria-valuenow", "0");
    button.disabled = true;
    box.innerHTML = "";
    form.removeAttribute("data-following");
    text.textContent = "Sending the files…";
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var pct = Math.round((e.loaded / e.total) * 100);
      bar.style.width = pct + "%";
      wrap.setAttribute("aria-valuenow", String(pct));
      text.textContent = pct < 100 ? "Sending the files… " + pct + "%" : "Files sent; receiving them…";
    });
    xhr.addEventListener("load", function () {
      var json = null;
      try { json = JSON.parse(xhr.responseText); } catch (e) { json = null; }
      if (xhr.status >= 200 && xhr.status < 300 && json && json.progress) {
        wrap.classList.add("d-none");
        text.textContent = "Files sent. Each is now checked and de-identified before it is stored.";
        form.setAttribute("data-following", "");
        form.reset();
        window.htmx
          .ajax("GET", withParam(json.progress, "in", "card"), { target: box, swap: "innerHTML" })
          .catch(function () {
            // The progress could not be loaded here: the upload's own page can.
            window.location.assign(json.progress);
          });
      } else {
        button.disabled = false;
        wrap.classList.add("d-none");
        text.textContent = "Nothing was uploaded: " + ((json && json.error) || ("the server answered " + xhr.status)) + ".";
      }
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      wrap.classList.add("d-none");
      text.textContent = "The upload failed (connection lost). Nothing was stored; try again.";
    });
    xhr.send(new FormData(form));
  });
})();
