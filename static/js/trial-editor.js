// The criteria editor: when the field or the operator changes, offer only the operators that
// apply to the field and show the value input its type needs. Progressive enhancement: the
// form works without this file (the server re-renders the right inputs). Loaded as a file: the
// CSP forbids inline scripts.
(function () {
  "use strict";
  var dataNode = document.getElementById("trial-editor-data");
  var form = document.querySelector("form[data-trial-editor]");
  if (!dataNode || !form) { return; }
  var meta;
  try { meta = JSON.parse(dataNode.textContent); } catch (e) { return; }

  var fieldSelect = form.querySelector("[data-role=field]");
  var opSelect = form.querySelector("[data-role=op]");
  var pathNode = form.querySelector("[data-role=path]");
  var enumSelect = form.querySelector("[data-role=enum-options]");
  var multiBox = form.querySelector("[data-role=multi-options]");
  var widgets = form.querySelectorAll("[data-widget]");
  var modeRadios = form.querySelectorAll("[data-role=mode]");
  var panels = form.querySelectorAll("[data-mode-panel]");
  form.classList.add("js-enhanced");

  function fieldMeta() { return meta.fields[fieldSelect.value] || null; }

  function fillOperators() {
    var f = fieldMeta();
    if (!f) { return; }
    var current = opSelect.value;
    while (opSelect.firstChild) { opSelect.removeChild(opSelect.firstChild); }
    f.operators.forEach(function (name) {
      var o = document.createElement("option");
      o.value = name;
      o.textContent = meta.operators[name] || name;
      if (name === current) { o.selected = true; }
      opSelect.appendChild(o);
    });
    if (f.operators.indexOf(current) === -1 && f.operators.length) { opSelect.value = f.operators[0]; }
  }

  function fillValues() {
    var f = fieldMeta();
    var values = f ? f.values : [];
    var chosen = enumSelect.value;
    while (enumSelect.firstChild) { enumSelect.removeChild(enumSelect.firstChild); }
    values.forEach(function (v) {
      var o = document.createElement("option");
      o.value = v.code;
      o.textContent = v.label;
      if (v.code === chosen) { o.selected = true; }
      enumSelect.appendChild(o);
    });
    var ticked = {};
    multiBox.querySelectorAll("input:checked").forEach(function (i) { ticked[i.value] = true; });
    while (multiBox.firstChild) { multiBox.removeChild(multiBox.firstChild); }
    values.forEach(function (v, n) {
      var wrap = document.createElement("div");
      wrap.className = "form-check";
      var input = document.createElement("input");
      input.className = "form-check-input";
      input.type = "checkbox";
      input.name = "value_multi";
      input.value = v.code;
      input.id = "vm-" + (n + 1);
      input.checked = !!ticked[v.code];
      var label = document.createElement("label");
      label.className = "form-check-label small";
      label.htmlFor = input.id;
      label.textContent = v.label;
      wrap.appendChild(input);
      wrap.appendChild(label);
      multiBox.appendChild(wrap);
    });
  }

  function showWidget() {
    var f = fieldMeta();
    var kind = f && f.widgets[opSelect.value] ? f.widgets[opSelect.value] : "number";
    widgets.forEach(function (w) {
      var on = w.getAttribute("data-widget") === kind;
      w.hidden = !on;
      if (w.tagName === "FIELDSET") { w.disabled = !on; }
      w.querySelectorAll("input, select, textarea").forEach(function (i) { i.disabled = !on; });
    });
    if (pathNode) { pathNode.textContent = fieldSelect.value; }
  }

  function showMode() {
    var mode = "simple";
    modeRadios.forEach(function (r) { if (r.checked) { mode = r.value; } });
    panels.forEach(function (p) { p.hidden = p.getAttribute("data-mode-panel") !== mode; });
  }

  fieldSelect.addEventListener("change", function () { fillOperators(); fillValues(); showWidget(); });
  opSelect.addEventListener("change", showWidget);
  modeRadios.forEach(function (r) { r.addEventListener("change", showMode); });
  showWidget();
  showMode();
})();
