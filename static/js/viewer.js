// Slice viewer: server-rendered PNG frames; wheel / arrow keys / slider; window presets; zoom.
(function () {
  "use strict";
  var root = document.querySelector("[data-viewer]");
  if (!root) return;
  var count = parseInt(root.dataset.count, 10) || 1;
  var base = root.dataset.frameUrl; // .../frames/0.png
  var img = root.querySelector("[data-frame]");
  var stage = root.querySelector("[data-stage]");
  var slider = root.querySelector("[data-slider]");
  var pos = root.querySelector("[data-position]");
  var index = 0;
  var preset = "auto";
  var cache = {};
  var zoom = "fit";

  function applyZoom() {
    if (zoom === "fit") {
      stage.classList.add("fit");
      img.style.width = "";
    } else {
      stage.classList.remove("fit");
      img.style.width = (img.naturalWidth * parseFloat(zoom)) + "px";
    }
  }
  img.addEventListener("load", applyZoom);

  function url(n) {
    return base.replace(/\/frames\/0\.png$/, "/frames/" + n + ".png") + "?preset=" + encodeURIComponent(preset);
  }
  function prefetch(n) {
    if (n < 0 || n >= count) return;
    var u = url(n);
    if (cache[u]) return;
    var im = new Image();
    im.src = u;
    cache[u] = im;
  }
  function show(n) {
    index = Math.max(0, Math.min(count - 1, n));
    img.src = url(index);
    img.alt = "Slice " + (index + 1) + " of " + count;
    slider.value = String(index + 1);
    pos.textContent = (index + 1) + " / " + count;
    root.dataset.index = String(index);
    for (var d = 1; d <= 3; d++) { prefetch(index + d); prefetch(index - d); }
  }
  stage.addEventListener("wheel", function (e) {
    e.preventDefault();
    show(index + (e.deltaY > 0 ? 1 : -1));
  }, { passive: false });
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
    var step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1, PageDown: 10, PageUp: -10 }[e.key];
    if (e.key === "Home") { e.preventDefault(); show(0); return; }
    if (e.key === "End") { e.preventDefault(); show(count - 1); return; }
    if (step) { e.preventDefault(); show(index + step); }
  });
  slider.addEventListener("input", function () { show(parseInt(slider.value, 10) - 1); });
  root.querySelectorAll("[data-preset]").forEach(function (b) {
    b.addEventListener("click", function () {
      root.querySelectorAll("[data-preset]").forEach(function (o) { o.classList.remove("active"); });
      b.classList.add("active");
      preset = b.dataset.preset;
      cache = {};
      show(index);
    });
  });
  root.querySelectorAll("[data-zoom]").forEach(function (b) {
    b.addEventListener("click", function () {
      root.querySelectorAll("[data-zoom]").forEach(function (o) { o.classList.remove("active"); });
      b.classList.add("active");
      zoom = b.dataset.zoom;
      applyZoom();
    });
  });
  stage.focus();
  show(0);
  root.dataset.ready = "true"; // wheel and keys are listening (tests wait for it)
})();
