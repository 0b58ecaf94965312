// Agenda: drag cases to reorder them. The up/down buttons work without this file; this only
// adds dragging, posting the new order to the server (JSON) and updating the slot times.
(function () {
  "use strict";
  var list = document.getElementById("agenda-list");
  if (!list || !list.dataset.reorderUrl) { return; }
  var dragged = null;

  function items() { return Array.prototype.slice.call(list.querySelectorAll(".agenda-item")); }
  function token() {
    var input = document.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }
  function clearTargets() {
    items().forEach(function (li) { li.classList.remove("drop-target"); });
  }
  function renumber() {
    items().forEach(function (li, i) {
      var n = li.querySelector(".agenda-number");
      if (n) { n.textContent = (i + 1) + "."; }
    });
  }
  function showError(message) {
    var box = document.createElement("div");
    box.className = "alert alert-danger mt-2 mx-3";
    box.setAttribute("role", "alert");
    box.textContent = message + " The page will reload.";
    list.parentNode.insertBefore(box, list);
    window.setTimeout(function () { window.location.reload(); }, 2500);
  }
  function save() {
    var order = items().map(function (li) { return li.dataset.itemId; });
    var body = new FormData();
    body.append("order", order.join(","));
    body.append("csrf_token", token());
    list.classList.add("saving");
    fetch(list.dataset.reorderUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": token() }
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      list.classList.remove("saving");
      if (!result.ok) { showError(result.data.error || "The new order was not saved."); return; }
      Object.keys(result.data.slots || {}).forEach(function (id) {
        var li = document.getElementById("item-" + id);
        var slot = li && li.querySelector("[data-slot]");
        if (slot) { slot.textContent = result.data.slots[id]; }
      });
      renumber();
    }).catch(function () {
      list.classList.remove("saving");
      showError("The new order could not be saved.");
    });
  }

  list.addEventListener("dragstart", function (event) {
    var li = event.target.closest && event.target.closest(".agenda-item");
    if (!li) { return; }
    dragged = li;
    li.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", li.dataset.itemId);
  });
  list.addEventListener("dragover", function (event) {
    if (!dragged) { return; }
    event.preventDefault();
    var li = event.target.closest && event.target.closest(".agenda-item");
    clearTargets();
    if (li && li !== dragged) { li.classList.add("drop-target"); }
  });
  list.addEventListener("drop", function (event) {
    if (!dragged) { return; }
    event.preventDefault();
    var li = event.target.closest && event.target.closest(".agenda-item");
    clearTargets();
    if (!li || li === dragged) { return; }
    var rect = li.getBoundingClientRect();
    var after = event.clientY > rect.top + rect.height / 2;
    list.insertBefore(dragged, after ? li.nextSibling : li);
    save();
  });
  list.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    dragged = null;
    clearTargets();
  });
})();
