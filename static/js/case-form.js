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

  // ------------------------------------------------------------------ tumour type and modules
  // The tumour type decides which modules' sections are shown (their fields are disabled, so
  // never posted, while hidden); the server decides the same on save (forms.modules_in).
  var tumourSelect = form.querySelector("[data-tumour-select]");

  function showModules(modules) {
    var on = {};
    (modules || []).forEach(function (m) { on[m] = true; });
    form.querySelectorAll("section[data-module]").forEach(function (section) {
      var show = !!on[section.getAttribute("data-module")];
      section.hidden = !show;
      var fields = section.querySelector("fieldset.section-fields");
      if (fields) { fields.disabled = !show; }
    });
    document.querySelectorAll("[data-nav-section][data-module]").forEach(function (a) {
      a.hidden = !on[a.getAttribute("data-module")];
    });
    var n = 0;
    form.querySelectorAll("section[data-section]").forEach(function (section) {
      var num = section.querySelector(".section-num");
      if (!section.hidden) { n += 1; }
      if (num) { num.textContent = section.hidden ? "" : String(n); }
    });
  }

  function describeTumour(item) {
    var iccc = form.querySelector("[data-tumour-iccc]");
    var row = form.querySelector("[data-tumour-iccc-row]");
    var mods = form.querySelector("[data-tumour-modules]");
    if (iccc) { iccc.textContent = item ? item.iccc : ""; }
    if (row) { row.classList.toggle("d-none", !item); }
    if (!mods) { return; }
    mods.textContent = "";
    if (!item) {
      mods.textContent = "Choose the tumour type: the questions for that tumour then appear in the form.";
    } else if (item.module_labels && item.module_labels.length) {
      mods.appendChild(document.createTextNode("Questions for this tumour: "));
      var strong = document.createElement("strong");
      strong.textContent = item.module_labels.join(", ");
      mods.appendChild(strong);
      mods.appendChild(document.createTextNode(" (their own sections, below)."));
    } else {
      mods.textContent = "No questions of its own for this tumour type yet: the other sections are all the panel needs.";
    }
  }

  function optionItem(code) {
    if (!tumourSelect || !code) { return null; }
    var opt = Array.prototype.find.call(tumourSelect.options, function (o) { return o.value === code; });
    if (!opt || !opt.hasAttribute("data-name")) { return null; }
    var mods = (opt.getAttribute("data-modules") || "").split(" ").filter(Boolean);
    return { code: code, name: opt.getAttribute("data-name"), label: opt.textContent, iccc: opt.getAttribute("data-iccc"), modules: mods, module_labels: null };
  }

  var tumourRequest = 0;
  // The chosen type with the site typed (ICCC-3 and the modules may depend on the site).
  function refreshTumour() {
    if (!tumourSelect) { return; }
    var picker = form.querySelector("[data-tumour-picker]");
    var code = tumourSelect.value;
    if (!code) { describeTumour(null); showModules([]); updateConditions(); updateMissing(); return; }
    var topo = form.elements.namedItem("tumour.topography");
    var url = picker.getAttribute("data-search-url") + "?code=" + encodeURIComponent(code) +
      "&topography=" + encodeURIComponent(topo && topo.value ? topo.value.trim().toUpperCase() : "");
    var mine = ++tumourRequest;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (mine !== tumourRequest) { return; }
        var item = body && body.results && body.results[0];
        if (!item) { item = optionItem(code); }
        describeTumour(item);
        showModules(item ? item.modules : []);
        updateConditions();
        updateMissing();
      })
      .catch(function () {
        var item = optionItem(code);
        describeTumour(item);
        showModules(item ? item.modules : []);
        updateConditions();
        updateMissing();
      });
  }

  // An accessible combobox over the search endpoint (WAI-ARIA 1.2 combobox with a listbox):
  // type to search names, synonyms and codes; Up/Down move, Enter or a click chooses, Escape
  // closes (and, closed, restores the chosen type). The select stays as the posted value.
  function setupTumourPicker() {
    if (!tumourSelect || !window.fetch) { return; }
    var picker = form.querySelector("[data-tumour-picker]");
    var url = picker.getAttribute("data-search-url");
    var baseId = tumourSelect.id;
    var described = tumourSelect.getAttribute("aria-describedby") || "";

    var wrap = document.createElement("div");
    wrap.className = "tumour-combo";
    var input = document.createElement("input");
    input.type = "text";
    input.className = "form-control form-control-sm" + (tumourSelect.classList.contains("is-invalid") ? " is-invalid" : "");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", baseId + "-listbox");
    input.setAttribute("autocomplete", "off");
    input.setAttribute("spellcheck", "false");
    input.setAttribute("data-tumour-search", "");
    if (described) { input.setAttribute("aria-describedby", described + " " + baseId + "-status"); }
    var icon = document.createElement("i");
    icon.className = "bi bi-search combo-icon";
    icon.setAttribute("aria-hidden", "true");
    var list = document.createElement("ul");
    list.id = baseId + "-listbox";
    list.className = "tumour-listbox";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    var status = document.createElement("div");
    status.id = baseId + "-status";
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    wrap.appendChild(input);
    wrap.appendChild(icon);
    wrap.appendChild(list);
    wrap.appendChild(status);

    // The combobox takes the select's id, so the label and the "still missing" links reach it.
    tumourSelect.id = baseId + "-select";
    tumourSelect.hidden = true;
    tumourSelect.setAttribute("tabindex", "-1");
    tumourSelect.setAttribute("aria-hidden", "true");
    input.id = baseId;
    list.setAttribute("aria-label", "Tumour types");
    tumourSelect.parentNode.insertBefore(wrap, tumourSelect);

    var results = [];
    var active = -1;
    var timer = null;
    var searchNo = 0;

    function chosenText() {
      var opt = tumourSelect.options[tumourSelect.selectedIndex];
      return opt && opt.value ? opt.textContent : "";
    }
    input.value = chosenText();

    function close() {
      // A search still waiting (typed just before) must not open the list again.
      if (timer) { window.clearTimeout(timer); timer = null; }
      searchNo += 1;
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(i) {
      var options = list.querySelectorAll("[role=option]");
      active = i;
      options.forEach(function (o, j) { o.setAttribute("aria-selected", j === i ? "true" : "false"); });
      if (i >= 0 && options[i]) {
        input.setAttribute("aria-activedescendant", options[i].id);
        options[i].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function render(items, query) {
      results = items;
      list.textContent = "";
      if (!items.length) {
        var empty = document.createElement("li");
        empty.className = "tumour-empty";
        empty.setAttribute("role", "presentation");
        empty.textContent = "No tumour type matches “" + query + "”. Try another name or the ICD-O-3 code.";
        list.appendChild(empty);
      }
      items.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = baseId + "-opt-" + i;
        li.className = "tumour-option";
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.setAttribute("data-code", item.code);
        var name = document.createElement("span");
        name.className = "opt-name";
        name.textContent = item.name;
        var code = document.createElement("span");
        code.className = "opt-code";
        code.textContent = item.code;
        var meta = document.createElement("span");
        meta.className = "opt-meta";
        meta.textContent = (item.matched ? "“" + item.matched + "” · " : "") + item.iccc;
        li.appendChild(name);
        li.appendChild(code);
        li.appendChild(meta);
        li.addEventListener("mousedown", function (e) { e.preventDefault(); });
        li.addEventListener("click", function () { choose(i); });
        list.appendChild(li);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      status.textContent = items.length ? items.length + " tumour type" + (items.length === 1 ? "" : "s") + " found; use the up and down arrows to choose." : "No tumour type found.";
      highlight(items.length ? 0 : -1);
    }

    function search() {
      var query = input.value.trim();
      if (!query) { close(); return; }
      var mine = ++searchNo;
      fetch(url + "?q=" + encodeURIComponent(query), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (body) { if (mine === searchNo) { render(body.results || [], query); } })
        .catch(function () { if (mine === searchNo) { render([], query); } });
    }

    function choose(i) {
      var item = results[i];
      if (!item) { return; }
      tumourSelect.value = item.code;
      input.value = item.label;
      close();
      status.textContent = item.label + " chosen.";
      markDirty();
      describeTumour(item);
      showModules(item.modules);
      updateConditions();
      updateMissing();
      refreshTumour();  // the site, if typed, may change the ICCC-3 group
    }

    input.addEventListener("input", function (event) {
      event.stopPropagation();  // the form's own input handler would count a search as a change
      if (timer) { window.clearTimeout(timer); }
      if (!input.value.trim()) {
        close();
        if (tumourSelect.value) {
          tumourSelect.value = "";
          markDirty();
          refreshTumour();
        }
        return;
      }
      timer = window.setTimeout(search, 150);
    });

    input.addEventListener("keydown", function (event) {
      var open = !list.hidden;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open) { search(); return; }
        highlight(Math.min(active + 1, results.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (open) { highlight(Math.max(active - 1, 0)); }
      } else if (event.key === "Enter") {
        if (open) {
          event.preventDefault();  // Enter chooses; it does not save the draft
          if (active >= 0) { choose(active); }
        }
      } else if (event.key === "Escape") {
        if (open) {
          event.preventDefault();
          close();
        } else if (input.value !== chosenText()) {
          event.preventDefault();
          input.value = chosenText();
        }
      } else if (event.key === "Tab") {
        close();
      }
    });

    input.addEventListener("blur", function () {
      window.setTimeout(function () {
        close();
        if (input.value.trim() && input.value !== chosenText()) { input.value = chosenText(); }
      }, 120);
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

  function capitalise(text) { return text.charAt(0).toUpperCase() + text.slice(1); }

  function renumber(container) {
    var path = container.getAttribute("data-list");
    var noun = container.getAttribute("data-noun");
    var rows = rowsOf(container);
    rows.forEach(function (row, i) {
      var n = i + 1;
      function idFor(el) {
        var key = el.getAttribute("data-key") || el.getAttribute("data-label-key") || "";
        var choice = el.getAttribute("data-choice");
        var name = key ? path + "[" + i + "]." + key : path + "[" + i + "]";
        return { name: name, id: fieldId(name) + (choice ? "-" + choice : "") };
      }
      row.querySelectorAll(".row-num").forEach(function (el) { el.textContent = String(n); });
      row.querySelectorAll("[data-row-title]").forEach(function (el) { el.textContent = capitalise(noun) + " " + n; });
      row.querySelectorAll("[data-row-suffix]").forEach(function (el) { el.textContent = ", " + noun + " " + n; });
      row.querySelectorAll("[data-key]").forEach(function (el) {
        var ref = idFor(el);
        el.name = ref.name;
        el.id = ref.id;
        if (el.hasAttribute("data-label")) {
          el.setAttribute("aria-label", el.getAttribute("data-label") + " " + n);
        }
      });
      row.querySelectorAll("label[data-label-key]").forEach(function (el) { el.htmlFor = idFor(el).id; });
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
    if (el.hasAttribute("data-topography")) { refreshTumour(); }
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
      if (section.hidden) { return; }
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
  setupTumourPicker();
  form.querySelectorAll(".list-rows[data-list]").forEach(renumber);
  form.querySelectorAll("[data-counter]").forEach(updateCounter);
  updateConditions();
  updateMissing();
})();
