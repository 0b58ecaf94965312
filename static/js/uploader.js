// Upload with a progress bar (XMLHttpRequest upload events). Progressive enhancement: without
// JavaScript the form posts normally and the server answers with a results page. The submit
// handler is delegated from the document, so forms loaded later by htmx work too.
(function () {
  "use strict";
  if (window.panelUploader) return;
  window.panelUploader = true;
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  var LABELS = { stored: "stored", held_back: "awaiting review", refused: "refused", duplicate: "already uploaded" };
  var BADGES = { stored: "success", held_back: "warning", refused: "danger", duplicate: "secondary" };

  function renderResults(box, data) {
    var c = data.counts || {};
    var html = '<p data-testid="upload-counts">' + (c.stored || 0) + " stored, " + (c.held_back || 0) +
      " awaiting review, " + (c.refused || 0) + " refused" +
      (c.duplicate ? ", " + c.duplicate + " already uploaded" : "") + ".</p>";
    html += '<table class="table table-sm imaging-results" data-testid="upload-results"><thead><tr><th>File</th><th>Result</th><th>Reason</th></tr></thead><tbody>';
    (data.files || []).forEach(function (f) {
      html += '<tr class="result-' + esc(f.status) + '"><td>' + esc(f.name) + '</td><td><span class="badge text-bg-' +
        (BADGES[f.status] || "secondary") + '">' + esc(LABELS[f.status] || f.status) + '</span></td><td class="small">' +
        esc(f.reason) + "</td></tr>";
    });
    html += "</tbody></table>";
    if (data.next) html += '<a class="btn btn-sm btn-outline-primary" href="' + esc(data.next) + '">Show the images</a>';
    box.innerHTML = html;
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target.closest && ev.target.closest("form[data-uploader]");
    if (!form || !window.FormData || !window.XMLHttpRequest) return;
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
    button.disabled = true;
    box.innerHTML = "";
    text.textContent = "Uploading…";
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var pct = Math.round((e.loaded / e.total) * 100);
      bar.style.width = pct + "%";
      wrap.setAttribute("aria-valuenow", String(pct));
      text.textContent = pct < 100 ? "Uploading… " + pct + "%" : "Checking and de-identifying the files…";
    });
    xhr.addEventListener("load", function () {
      button.disabled = false;
      var json = null;
      try { json = JSON.parse(xhr.responseText); } catch (e) { json = null; }
      if (xhr.status >= 200 && xhr.status < 300 && json) {
        text.textContent = "Done.";
        renderResults(box, json);
      } else {
        text.textContent = "Nothing was uploaded: " + ((json && json.error) || ("the server answered " + xhr.status)) + ".";
      }
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      text.textContent = "The upload failed (connection lost). Nothing was stored; try again.";
    });
    xhr.send(new FormData(form));
  });
})();
