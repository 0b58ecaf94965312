// The referral form's behaviour (progressive enhancement: without JavaScript the form still
// works; list buttons then post the form and the server adds, moves or removes the row).
// Loaded as a file: the CSP allows no inline scripts, styles or event handlers.
(function () {
  "use strict";

  var form = document.querySelector("form[data-case-form]");
  if (!form) { return; }
  form.classList.add("js-on");

  function fieldId(name) {
    return "f-" + name.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "");
  }


  // ------------------------------------------------------------------ conditional fields
  function controlValue(name) {
    var el = form.elements.namedItem(name);
    if (!el) { return ""; }
    return el.value || "";
  }

  function updateConditions() {
    form.querySelectorAll("[data-cond-field]").forEach(function (wrap) {
      var values = (wrap.getAttribute("data-cond-values") || "").split(" ");
      var applies = values.indexOf(controlValue(wrap.getAttribute("data-cond-field"))) !== -1;
      wrap.classList.toggle("cond-off", !applies);
    });
  }

  // ------------------------------------------------------------------ lists of rows
  function listContainer(path) {
    return form.querySelector('.list-rows[data-list="' + path + '"]');
  }

  function rowsOf(container) {
    return Array.prototype.filter.call(container.children, function (el) { return el.hasAttribute("data-row"); });
  }

  var VERBS = { up: "Move %s up", down: "Move %s down", remove: "Remove %s" };

  function renumber(container) {
    var path = container.getAttribute("data-list");
    var noun = container.getAttribute("data-noun");
    var rows = rowsOf(container);
    rows.forEach(function (row, i) {
      var n = i + 1;
      row.querySelectorAll(".row-num").forEach(function (el) { el.textContent = String(n); });
      row.querySelectorAll("[data-key]").forEach(function (el) {
        var key = el.getAttribute("data-key");
        var name = key ? path + "[" + i + "]." + key : path + "[" + i + "]";
        var label = el.getAttribute("data-label") || "";
        el.name = name;
        el.id = fieldId(name);
        el.setAttribute("aria-label", key ? label + ", " + noun + " " + n : label + " " + n);
      });
      row.querySelectorAll("[data-row-op]").forEach(function (btn) {
        var op = btn.getAttribute("data-row-op");
        btn.value = op + ":" + path + ":" + i;
        btn.setAttribute("aria-label", VERBS[op].replace("%s", noun + " " + n));
        if (op === "up") { btn.disabled = i === 0; }
        if (op === "down") { btn.disabled = i === rows.length - 1; }
      });
      var tools = row.querySelector(".row-tools");
      if (tools) { tools.setAttribute("aria-label", "Move or remove " + noun + " " + n); }
    });
    var max = parseInt(container.getAttribute("data-max") || "50", 10);
    var add = form.querySelector('[data-row-op="add"][data-list="' + path + '"]');
    if (add) { add.disabled = rows.length >= max; }
    var wrap = form.querySelector('[data-rows-wrap="' + path + '"]');
    if (wrap) { wrap.classList.toggle("d-none", rows.length === 0); }
    var empty = form.querySelector('[data-empty-for="' + path + '"]');
    if (empty) { empty.classList.toggle("d-none", rows.length > 0); }
    var none = form.querySelector('[data-none-for="' + path + '"]');
    if (none) {
      none.classList.toggle("d-none", rows.length > 0);
      if (rows.length > 0) { none.querySelectorAll("input").forEach(function (i) { i.checked = false; }); }
    }
  }

  function addRow(path) {
    var container = listContainer(path);
    var tpl = form.querySelector('template[data-template-for="' + path + '"]');
    if (!container || !tpl) { return; }
    var fragment = tpl.content.cloneNode(true);
    var row = fragment.querySelector("[data-row]");
    container.appendChild(fragment);
    renumber(container);
    var first = row && row.querySelector("input, select, textarea");
    if (first) { first.focus(); }
  }

  form.addEventListener("click", function (event) {
    var btn = event.target.closest("[data-row-op]");
    if (!btn || !form.contains(btn)) { return; }
    event.preventDefault();
    var op = btn.getAttribute("data-row-op");
    if (op === "add") {
      addRow(btn.getAttribute("data-list"));
    } else {
      var row = btn.closest("[data-row]");
      var container = row && row.parentElement;
      if (!row || !container) { return; }
      if (op === "remove") {
        var next = row.nextElementSibling || row.previousElementSibling;
        row.remove();
        renumber(container);
        var focusTarget = next && next.querySelector("[data-row-op='remove']");
        if (focusTarget) { focusTarget.focus(); }
      } else if (op === "up" && row.previousElementSibling) {
        container.insertBefore(row, row.previousElementSibling);
        renumber(container);
        btn.focus();
      } else if (op === "down" && row.nextElementSibling) {
        container.insertBefore(row.nextElementSibling, row);
        renumber(container);
        btn.focus();
      }
    }
    markDirty();
    updateMissing();
  });

  // ------------------------------------------------------------------ check boxes and nulls
  form.addEventListener("change", function (event) {
    var el = event.target;
    if (el.type === "checkbox" && el.closest("fieldset.checks")) {
      var set = el.closest("fieldset.checks");
      if (el.hasAttribute("data-none") && el.checked) {
        set.querySelectorAll('input[type="checkbox"]:not([data-none])').forEach(function (c) { c.checked = false; });
      } else if (!el.hasAttribute("data-none") && el.checked) {
        set.querySelectorAll("input[data-none]").forEach(function (c) { c.checked = false; });
      }
    }
    if (el.hasAttribute("data-null-for")) {
      var target = document.getElementById(el.getAttribute("data-null-for"));
      if (target) {
        if (el.checked) { target.value = ""; }
        target.disabled = el.checked;
      }
    }
    updateConditions();
    updateMissing();
  });

  // ------------------------------------------------------------------ character counters
  function updateCounter(el) {
    var out = document.getElementById(el.getAttribute("data-counter"));
    if (out) { out.textContent = el.value.length + " / " + el.getAttribute("maxlength"); }
  }

  form.addEventListener("input", function (event) {
    var el = event.target;
    if (el.hasAttribute("data-counter")) { updateCounter(el); }
    markDirty();
    updateMissing();
  });

  // ------------------------------------------------------------------ what is still missing
  function isFilled(wrap) {
    var controls = wrap.querySelectorAll("input, select, textarea");
    for (var i = 0; i < controls.length; i++) {
      var c = controls[i];
      if (c.type === "hidden" || c.type === "submit" || c.type === "button" || c.disabled) { continue; }
      if (c.type === "checkbox" || c.type === "radio") {
        if (c.checked && c.value !== "") { return true; }
      } else if (c.value && c.value.trim() !== "") {
        return true;
      }
    }
    return false;
  }

  function labelOf(wrap) {
    var label = wrap.querySelector(".form-label");
    return label ? label.textContent.trim() : wrap.getAttribute("data-path");
  }

  function firstControl(wrap) {
    return wrap.querySelector("input:not([type=hidden]), select, textarea") || wrap;
  }

  var missingList = document.querySelector(".missing-list");
  function updateMissing() {
    var counts = {};
    var items = [];
    form.querySelectorAll("section[data-section]").forEach(function (section) {
      var key = section.getAttribute("data-section");
      var title = section.querySelector("h2").textContent.trim();
      counts[key] = 0;
      section.querySelectorAll("[data-required]").forEach(function (wrap) {
        if (wrap.classList.contains("cond-off") || isFilled(wrap)) { return; }
        counts[key] += 1;
        items.push({ title: title, label: labelOf(wrap), target: firstControl(wrap), path: wrap.getAttribute("data-path") });
      });
    });
    Object.keys(counts).forEach(function (key) {
      var state = document.querySelector('[data-state-for="' + key + '"]');
      if (!state || state.querySelector(".text-bg-danger")) { return; }
      state.textContent = "";
      if (counts[key]) {
        var badge = document.createElement("span");
        badge.className = "badge rounded-pill badge-missing";
        badge.textContent = counts[key] + " missing";
        state.appendChild(badge);
      } else {
        var tick = document.createElement("i");
        tick.className = "bi bi-check-circle-fill text-success";
        tick.setAttribute("role", "img");
        tick.setAttribute("aria-label", "complete");
        state.appendChild(tick);
      }
    });
    if (missingList) {
      missingList.textContent = "";
      var group = null;
      var last = null;
      items.forEach(function (item) {
        if (item.title !== last) {
          group = document.createElement("li");
          var sec = document.createElement("span");
          sec.className = "missing-section";
          sec.textContent = item.title;
          group.appendChild(sec);
          missingList.appendChild(group);
          last = item.title;
        } else {
          group.appendChild(document.createTextNode(","));
        }
        var a = document.createElement("a");
        a.href = "#" + (item.target.id || "");
        a.setAttribute("data-missing-field", item.path);
        a.textContent = item.label;
        group.appendChild(document.createTextNode(" "));
        group.appendChild(a);
      });
    }
    var n = items.length;
    document.querySelectorAll("[data-missing-count]").forEach(function (el) {
      el.textContent = String(n);
      el.classList.toggle("badge-missing", n > 0);
      el.classList.toggle("text-bg-success", n === 0);
    });
    document.querySelectorAll("[data-ready-note]").forEach(function (el) { el.classList.toggle("d-none", n > 0); });
    document.querySelectorAll("[data-missing-summary]").forEach(function (el) {
      el.textContent = n ? n + " required field" + (n === 1 ? "" : "s") + " still missing before you can submit."
        : "Everything required is entered.";
    });
  }

  // ------------------------------------------------------------------ section highlighting
  var navLinks = document.querySelectorAll("[data-nav-section]");
  if ("IntersectionObserver" in window && navLinks.length) {
    var visible = {};
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) { visible[e.target.getAttribute("data-section")] = e.isIntersecting; });
      var current = null;
      form.querySelectorAll("section[data-section]").forEach(function (s) {
        var key = s.getAttribute("data-section");
        if (!current && visible[key]) { current = key; }
      });
      navLinks.forEach(function (a) { a.classList.toggle("active", a.getAttribute("data-nav-section") === current); });
    }, { rootMargin: "-10% 0px -55% 0px" });
    form.querySelectorAll("section[data-section]").forEach(function (s) { observer.observe(s); });
  }

  // ------------------------------------------------------------------ unsaved changes
  var dirty = false;
  function markDirty() { dirty = true; }
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
  form.addEventListener("submit", function (event) {
    dirty = false;
    var buttons = form.querySelectorAll('button[name="action"]');
    // Disable after the browser has read the pressed button's value: one click, one save.
    window.setTimeout(function () {
      buttons.forEach(function (b) { b.disabled = true; });
    }, 0);
    if (event.submitter && event.submitter.name === "action") {
      event.submitter.classList.add("is-busy");
    }
  });
  // Coming back with the browser's back button: the page may come from its cache.
  window.addEventListener("pageshow", function () {
    form.querySelectorAll('button[name="action"]').forEach(function (b) { b.disabled = false; });
  });

  // ------------------------------------------------------------------ start
  form.querySelectorAll(".list-rows[data-list]").forEach(renumber);
  form.querySelectorAll("[data-counter]").forEach(updateCounter);
  updateConditions();
  updateMissing();
})();
