// Presentation mode: arrow keys and buttons between cases (the next case is swapped in without
// a page load, so full screen stays on), a full-screen button, and a small slice viewer per
// image series (mouse wheel, up/down keys, buttons). The pages work without it.
(function () {
  "use strict";
  // Esc leaves presentation mode for the meeting page (data-exit-url on <body>). In full
  // screen the browser takes the first Esc to leave full screen; the next one leaves.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape" || e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    if (document.fullscreenElement) {
      document.exitFullscreen();
      return;
    }
    var exit = document.body.dataset.exitUrl;
    if (exit) {
      e.preventDefault();
      window.location.assign(exit);
    }
  });
  if (!document.querySelector("[data-present]")) return;
  var viewers = [];

  function root() { return document.querySelector("[data-present]"); }
  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }

  // ---------------------------------------------------------------- full screen
  function toggleFullscreen() {
    if (document.fullscreenElement) {
      document.exitFullscreen();
    } else if (document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen().catch(function () {});
    }
  }

  // ---------------------------------------------------------------- slice viewers
  function initViewer(fig) {
    var count = parseInt(fig.dataset.count, 10) || 1;
    var base = fig.dataset.frameUrl;
    var img = fig.querySelector("[data-frame]");
    var stage = fig.querySelector("[data-stage]");
    var pos = fig.querySelector("[data-position]");
    var buttons = fig.querySelector("[data-slice-buttons]");
    var index = 0;
    var cache = {};
    function url(n) { return base.replace(/\/frames\/0\.png$/, "/frames/" + n + ".png"); }
    function prefetch(n) {
      if (n < 0 || n >= count || cache[n]) return;
      var im = new Image();
      im.src = url(n);
      cache[n] = im;
    }
    function show(n) {
      index = Math.max(0, Math.min(count - 1, n));
      img.src = url(index);
      img.alt = img.alt.replace(/slice \d+ of/, "slice " + (index + 1) + " of");
      pos.textContent = (index + 1) + " / " + count;
      for (var d = 1; d <= 3; d++) { prefetch(index + d); prefetch(index - d); }
    }
    viewers.push({ step: function (d) { show(index + d); }, stage: stage });
    if (count > 1) {
      if (buttons) buttons.hidden = false;
      stage.addEventListener("wheel", function (e) {
        e.preventDefault();
        show(index + (e.deltaY > 0 ? 1 : -1));
      }, { passive: false });
      fig.addEventListener("click", function (e) {
        var b = e.target.closest("[data-step]");
        if (b) show(index + parseInt(b.dataset.step, 10));
      });
      prefetch(1);
    }
  }
  function activeViewer() {
    var focused = document.activeElement;
    for (var i = 0; i < viewers.length; i++) {
      if (viewers[i].stage === focused || viewers[i].stage.contains(focused)) return viewers[i];
    }
    return viewers[0] || null;
  }

  function init() {
    var r = root();
    viewers = [];
    var fsButton = r.querySelector("[data-fullscreen]");
    if (fsButton && document.documentElement.requestFullscreen) {
      fsButton.hidden = false;
      fsButton.addEventListener("click", toggleFullscreen);
    }
    Array.prototype.forEach.call(r.querySelectorAll("[data-series]"), initViewer);
  }

  // ---------------------------------------------------------------- moving between cases
  function go(url, push) {
    if (!url) return;
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (resp) {
        if (!resp.ok) throw new Error(String(resp.status));
        return resp.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("[data-present]");
        if (!fresh) throw new Error("no presentation in the page");
        root().replaceWith(document.importNode(fresh, true));
        document.title = doc.title;
        if (push) history.pushState({ present: url }, "", url);
        shownPath = window.location.pathname;
        window.scrollTo(0, 0);
        init();
      })
      .catch(function () { window.location.assign(url); });
  }

  document.addEventListener("click", function (e) {
    var a = e.target.closest("a[rel=prev], a[rel=next]");
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    go(a.getAttribute("href"), true);
  });
  // Back and forward between cases; a jump within the page (the skip link's #main) is not one.
  var shownPath = window.location.pathname;
  window.addEventListener("popstate", function () {
    if (window.location.pathname === shownPath) return;
    go(window.location.pathname, false);
  });

  document.addEventListener("keydown", function (e) {
    if (typing(e.target) || e.altKey || e.ctrlKey || e.metaKey) return;
    var r = root();
    var prev = r.dataset.prevUrl, next = r.dataset.nextUrl;
    if (e.key === "ArrowRight" || e.key === "PageDown") {
      e.preventDefault();
      go(next, true);
    } else if (e.key === "ArrowLeft" || e.key === "PageUp") {
      e.preventDefault();
      go(prev, true);
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      var v = activeViewer();
      if (v) {
        e.preventDefault();
        v.step(e.key === "ArrowDown" ? 1 : -1);
      }
    } else if ((e.key === "f" || e.key === "F") && document.documentElement.requestFullscreen) {
      e.preventDefault();
      toggleFullscreen();
    }
  });

  init();
})();
