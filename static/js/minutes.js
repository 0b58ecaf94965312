// Minutes editor: autosave about two seconds after typing stops. A save based on an old version
// (another coordinator saved meanwhile) is refused by the server with both texts; autosave then
// pauses and shows theirs beside the editor, so nothing either person typed is lost.
// Without JavaScript the form posts normally (with the hidden version).
(function () {
  "use strict";
  var form = document.querySelector("[data-minutes-form]");
  if (!form) return;
  var DELAY = 2000;
  var version = form.querySelector("[data-version]");
  var status = form.querySelector("[data-minutes-status]");
  var discussion = form.querySelector("#discussion");
  var outcome = form.querySelector("#outcome");
  var panel = form.querySelector("[data-conflict]");
  var message = form.querySelector("[data-conflict-message]");
  var otherDiscussion = form.querySelector("[data-other-discussion]");
  var otherOutcome = form.querySelector("[data-other-outcome]");
  var titleDiscussion = form.querySelector("[data-other-title]");
  var titleOutcome = form.querySelector("[data-other-title-outcome]");
  var timer = null;
  var saving = false;
  var again = false;
  var paused = false;
  var swapped = false;
  var conflict = null;
  var saved = { discussion: discussion.value, outcome: outcome.value };

  function setStatus(text, kind) {
    status.textContent = text;
    status.classList.remove("text-danger", "text-success", "text-warning", "text-body-secondary");
    status.classList.add(kind === "error" ? "text-danger" : kind === "ok" ? "text-success" : kind === "warn" ? "text-warning" : "text-body-secondary");
  }
  function dirty() {
    return discussion.value !== saved.discussion || outcome.value !== saved.outcome;
  }
  function schedule(ms) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, ms === undefined ? DELAY : ms);
  }

  function save() {
    timer = null;
    if (paused || !dirty()) return;
    if (saving) { again = true; return; }
    saving = true;
    var sent = { discussion: discussion.value, outcome: outcome.value };
    var data = new FormData(form);
    data.set("action", "save");
    var token = form.querySelector('input[name="csrf_token"]');
    setStatus("Saving…");
    fetch(form.getAttribute("action"), { // not form.action: the buttons are named "action"
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": token ? token.value : "" }
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) { return { status: resp.status, body: body }; });
    }).then(function (r) {
      if (r.status === 200) {
        version.value = String(r.body.version);
        saved = sent;
        setStatus(dirty() ? "Unsaved changes…" : "Saved " + (r.body.saved_at_uk || ""), dirty() ? null : "ok");
        if (dirty()) schedule();
      } else if (r.status === 409 && r.body.conflict) {
        showConflict(r.body);
      } else {
        // An identifier refusal is already a whole sentence ("Not saved: ... kept below.").
        var error = r.body.error || ("the server answered " + r.status);
        setStatus(/^Not saved/.test(error) ? error : "Not saved: " + error + " Your text is still here.", "error");
      }
    }).catch(function () {
      setStatus("Not saved: no connection. Your text is still here; trying again…", "error");
      schedule(5000);
    }).then(function () {
      saving = false;
      if (again) { again = false; schedule(0); }
    });
  }

  function showConflict(body) {
    paused = true;
    conflict = body.current;
    swapped = false;
    otherDiscussion.textContent = conflict.discussion || "—";
    otherOutcome.textContent = conflict.outcome || "—";
    titleDiscussion.textContent = "Their discussion";
    titleOutcome.textContent = "Their outcome";
    message.textContent = body.error || ("Conflict: " + conflict.by + " saved these minutes.");
    panel.hidden = false;
    setStatus("Conflict: " + conflict.by + " saved at " + (conflict.at_uk || "") + ". Nothing is lost: merge, then save.", "warn");
  }

  form.querySelector("[data-keep-mine]").addEventListener("click", function () {
    if (!conflict) return;
    version.value = String(conflict.version);
    panel.hidden = true;
    paused = false;
    conflict = null;
    saved = { discussion: null, outcome: null }; // force a save of the editor's text
    save();
  });
  form.querySelector("[data-swap]").addEventListener("click", function () {
    if (!conflict) return;
    var mine = { discussion: discussion.value, outcome: outcome.value };
    var other = swapped ? conflict.mine : { discussion: conflict.discussion, outcome: conflict.outcome };
    discussion.value = other.discussion;
    outcome.value = other.outcome;
    conflict.mine = mine;
    swapped = !swapped;
    otherDiscussion.textContent = mine.discussion || "—";
    otherOutcome.textContent = mine.outcome || "—";
    titleDiscussion.textContent = swapped ? "Your discussion (not saved)" : "Their discussion";
    titleOutcome.textContent = swapped ? "Your outcome (not saved)" : "Their outcome";
    version.value = String(conflict.version);
    saved = swapped ? { discussion: conflict.discussion, outcome: conflict.outcome } : saved;
  });

  [discussion, outcome].forEach(function (field) {
    field.addEventListener("input", function () {
      if (paused) return;
      setStatus("Unsaved changes…");
      schedule();
    });
  });
  document.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && (e.key === "s" || e.key === "S")) {
      e.preventDefault();
      if (!paused) schedule(0);
    }
  });
  form.addEventListener("submit", function () {
    if (timer) clearTimeout(timer);
    saved = { discussion: discussion.value, outcome: outcome.value }; // no "leave page?" prompt
  });
  window.addEventListener("beforeunload", function (e) {
    if (dirty() || paused) {
      e.preventDefault();
      e.returnValue = "";
    }
  });
  form.dataset.autosave = "on"; // autosave is listening (tests wait for it before typing)
})();
