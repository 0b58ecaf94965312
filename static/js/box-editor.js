// The review page's box editor (issue 17): the boxes to black out on a held-back image.
// Boxes live in the image's own pixels: the SVG's viewBox is the image, so it scales with the
// displayed image. Mouse (pointer events): drag on the image to draw, drag a box to move it,
// drag a handle of the selected box to resize it. Keyboard: Tab to a box; arrows move it
// (Shift: 10 px), Alt (or Ctrl) + arrows resize it, Delete/Backspace removes it, Escape
// deselects it. The boxes go to the form's hidden "boxes" field as [[x, y, w, h], ...].
(function () {
  "use strict";
  var root = document.querySelector("[data-box-editor]");
  if (!root) return;
  var form = root.closest("form");
  var W = parseInt(root.dataset.width, 10);
  var H = parseInt(root.dataset.height, 10);
  var MAX = parseInt(root.dataset.max, 10) || 50;
  var svg = root.querySelector("[data-svg]");
  var img = root.querySelector("[data-image]");
  var input = form.querySelector("[data-boxes-input]");
  var status = form.querySelector("[data-status]");
  var addBtn = form.querySelector("[data-add]");
  var removeBtn = form.querySelector("[data-remove]");
  var maskBtn = form.querySelector("[data-mask]");
  var NS = "http://www.w3.org/2000/svg";
  var HANDLES = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];
  var HANDLE_PX = 12; // handle size on screen
  var DRAW_MIN_PX = 4; // a drag shorter than this on empty image is a click (deselects)

  var boxes = [];
  try {
    boxes = JSON.parse(input.value || "[]").map(function (b) {
      return { x: b[0], y: b[1], w: b[2], h: b[3] };
    });
  } catch (err) {
    boxes = [];
  }
  var selected = -1;
  var drag = null;

  function clamp(v, lo, hi) {
    return Math.max(lo, Math.min(hi, v));
  }

  function el(name, attrs) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) {
      node.setAttribute(k, attrs[k]);
    });
    return node;
  }

  function label(i) {
    var b = boxes[i];
    return "Box " + (i + 1) + " of " + boxes.length + ": " + b.w + " by " + b.h +
      " pixels at " + b.x + ", " + b.y;
  }

  function say(text) {
    status.textContent = text;
  }

  function summary() {
    return boxes.length === 0 ? "No boxes." : boxes.length === 1 ? "1 box." : boxes.length + " boxes.";
  }

  // --------------------------------------------------------------- drawing the boxes
  var bg = el("rect", { class: "bx-bg", x: 0, y: 0, width: W, height: H });
  svg.appendChild(bg);

  function scale() {
    var r = svg.getBoundingClientRect();
    return r.width ? W / r.width : 1;
  }

  function boxNode(i) {
    return svg.querySelector('[data-index="' + i + '"]');
  }

  function makeBoxNode(i) {
    var g = el("g", {
      class: "bx",
      tabindex: "0",
      role: "button",
      "aria-describedby": "box-help",
      "data-index": i,
      "data-testid": "box",
    });
    g.appendChild(el("rect", { class: "bx-rect", "data-part": "move", "vector-effect": "non-scaling-stroke" }));
    HANDLES.forEach(function (h) {
      g.appendChild(el("rect", {
        class: "bx-handle bx-handle-" + h,
        "data-part": h,
        "data-testid": "handle-" + h,
        "vector-effect": "non-scaling-stroke",
      }));
    });
    return g;
  }

  // Bring the SVG in line with ``boxes`` (reusing the nodes by index, so focus stays put).
  function sync() {
    var nodes = svg.querySelectorAll("[data-index]");
    for (var k = nodes.length; k < boxes.length; k++) svg.appendChild(makeBoxNode(k));
    for (var j = boxes.length; j < nodes.length; j++) nodes[j].remove();
    var s = scale();
    var hs = HANDLE_PX * s;
    boxes.forEach(function (b, i) {
      var g = boxNode(i);
      g.setAttribute("aria-label", label(i));
      g.setAttribute("class", "bx" + (i === selected ? " bx-selected" : ""));
      var r = g.querySelector(".bx-rect");
      r.setAttribute("x", b.x);
      r.setAttribute("y", b.y);
      r.setAttribute("width", b.w);
      r.setAttribute("height", b.h);
      var cx = { w: b.x, n: b.x + b.w / 2, e: b.x + b.w };
      var cy = { n: b.y, w: b.y + b.h / 2, s: b.y + b.h };
      g.querySelectorAll(".bx-handle").forEach(function (hn) {
        var part = hn.getAttribute("data-part");
        var hx = part.indexOf("w") >= 0 ? cx.w : part.indexOf("e") >= 0 ? cx.e : cx.n;
        var hy = part.indexOf("n") >= 0 ? cy.n : part.indexOf("s") >= 0 ? cy.s : cy.w;
        hn.setAttribute("x", hx - hs / 2);
        hn.setAttribute("y", hy - hs / 2);
        hn.setAttribute("width", hs);
        hn.setAttribute("height", hs);
      });
    });
    input.value = JSON.stringify(boxes.map(function (b) {
      return [b.x, b.y, b.w, b.h];
    }));
    removeBtn.disabled = selected < 0;
    addBtn.disabled = boxes.length >= MAX;
    if (maskBtn) maskBtn.disabled = boxes.length === 0;
  }

  function select(i, focus) {
    selected = i;
    sync();
    if (focus && i >= 0) boxNode(i).focus();
  }

  function remove(i) {
    boxes.splice(i, 1);
    selected = -1;
    sync();
    if (boxes.length) {
      var next = Math.min(i, boxes.length - 1);
      select(next, true);
      say("Box " + (i + 1) + " deleted. " + summary() + " " + label(next) + ".");
    } else {
      addBtn.focus();
      say("Box deleted. " + summary());
    }
  }

  function add() {
    if (boxes.length >= MAX) {
      say("At most " + MAX + " boxes.");
      return;
    }
    var w = Math.max(1, Math.round(W / 5));
    var h = Math.max(1, Math.round(H / 8));
    boxes.push({ x: Math.round((W - w) / 2), y: Math.round((H - h) / 2), w: w, h: h });
    select(boxes.length - 1, true);
    say("Box added. " + label(boxes.length - 1) + ".");
  }

  // --------------------------------------------------------------- the displayed size
  // As large as fits the column and 70% of the window's height (small images are enlarged).
  function fit() {
    var avail = root.clientWidth || W;
    var tall = Math.max(200, window.innerHeight * 0.7);
    var k = Math.min(avail / W, tall / H, 8);
    img.style.width = Math.floor(W * k) + "px";
    img.style.height = Math.floor(H * k) + "px";
    sync();
  }
  window.addEventListener("resize", fit);
  img.addEventListener("load", fit);

  // --------------------------------------------------------------- mouse (pointer events)
  function point(e) {
    var r = svg.getBoundingClientRect();
    return {
      x: clamp((e.clientX - r.left) * W / r.width, 0, W),
      y: clamp((e.clientY - r.top) * H / r.height, 0, H),
    };
  }

  svg.addEventListener("pointerdown", function (e) {
    if (e.button !== 0) return;
    var g = e.target.closest("[data-index]");
    var p = point(e);
    if (g) {
      var i = parseInt(g.getAttribute("data-index"), 10);
      var part = e.target.getAttribute("data-part") || "move";
      var b = boxes[i];
      drag = { mode: part, i: i, start: p, orig: { x: b.x, y: b.y, w: b.w, h: b.h }, moved: false };
      select(i, true);
    } else {
      drag = { mode: "draw", i: -1, start: p, moved: false };
    }
    svg.setPointerCapture(e.pointerId);
    e.preventDefault();
  });

  svg.addEventListener("pointermove", function (e) {
    if (!drag) return;
    var p = point(e);
    var dx = p.x - drag.start.x;
    var dy = p.y - drag.start.y;
    if (!drag.moved && Math.hypot(dx, dy) / scale() < (drag.mode === "draw" ? DRAW_MIN_PX : 1)) return;
    if (drag.mode === "draw") {
      if (drag.i < 0) {
        if (boxes.length >= MAX) {
          say("At most " + MAX + " boxes.");
          drag = null;
          return;
        }
        boxes.push({ x: 0, y: 0, w: 1, h: 1 });
        drag.i = boxes.length - 1;
      }
      var x0 = Math.round(Math.min(drag.start.x, p.x));
      var y0 = Math.round(Math.min(drag.start.y, p.y));
      var x1 = Math.round(Math.max(drag.start.x, p.x));
      var y1 = Math.round(Math.max(drag.start.y, p.y));
      boxes[drag.i] = { x: clamp(x0, 0, W - 1), y: clamp(y0, 0, H - 1), w: Math.max(1, x1 - x0), h: Math.max(1, y1 - y0) };
      boxes[drag.i].w = Math.min(boxes[drag.i].w, W - boxes[drag.i].x);
      boxes[drag.i].h = Math.min(boxes[drag.i].h, H - boxes[drag.i].y);
      selected = drag.i;
    } else if (drag.mode === "move") {
      var o = drag.orig;
      boxes[drag.i].x = clamp(Math.round(o.x + dx), 0, W - o.w);
      boxes[drag.i].y = clamp(Math.round(o.y + dy), 0, H - o.h);
    } else {
      var q = drag.orig;
      var l = q.x, t = q.y, r = q.x + q.w, btm = q.y + q.h;
      if (drag.mode.indexOf("w") >= 0) l = clamp(Math.round(q.x + dx), 0, r - 1);
      if (drag.mode.indexOf("e") >= 0) r = clamp(Math.round(q.x + q.w + dx), l + 1, W);
      if (drag.mode.indexOf("n") >= 0) t = clamp(Math.round(q.y + dy), 0, btm - 1);
      if (drag.mode.indexOf("s") >= 0) btm = clamp(Math.round(q.y + q.h + dy), t + 1, H);
      boxes[drag.i] = { x: l, y: t, w: r - l, h: btm - t };
    }
    drag.moved = true;
    sync();
  });

  function endDrag() {
    if (!drag) return;
    var d = drag;
    drag = null;
    if (d.mode === "draw" && d.i < 0) {
      // A click on the image outside the boxes: deselect.
      if (selected >= 0) {
        selected = -1;
        sync();
        say("No box selected. " + summary());
      }
      return;
    }
    if (!d.moved) {
      say(label(d.i) + ".");
      return;
    }
    var verb = d.mode === "draw" ? "Box drawn. " : d.mode === "move" ? "Box moved. " : "Box resized. ";
    select(d.i, true);
    say(verb + label(d.i) + ".");
  }
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);

  // --------------------------------------------------------------- keyboard
  var ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

  svg.addEventListener("keydown", function (e) {
    var g = e.target.closest && e.target.closest("[data-index]");
    if (!g) return;
    var i = parseInt(g.getAttribute("data-index"), 10);
    var b = boxes[i];
    var step = e.shiftKey ? 10 : 1;
    var d = ARROWS[e.key];
    if (d) {
      e.preventDefault();
      if (e.altKey || e.ctrlKey) {
        b.w = clamp(b.w + d[0] * step, 1, W - b.x);
        b.h = clamp(b.h + d[1] * step, 1, H - b.y);
      } else {
        b.x = clamp(b.x + d[0] * step, 0, W - b.w);
        b.y = clamp(b.y + d[1] * step, 0, H - b.h);
      }
      select(i, false);
      say(label(i) + ".");
    } else if (e.key === "Delete" || e.key === "Backspace") {
      e.preventDefault();
      remove(i);
    } else if (e.key === "Escape") {
      e.preventDefault();
      selected = -1;
      sync();
      svg.focus();
      say("No box selected. " + summary());
    } else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      select(i, false);
      say(label(i) + ".");
    }
  });

  svg.addEventListener("focusin", function (e) {
    var g = e.target.closest("[data-index]");
    if (!g) return;
    var i = parseInt(g.getAttribute("data-index"), 10);
    if (i !== selected) {
      selected = i;
      sync();
      if (!drag) say(label(i) + "."); // shows where the focused box is (sighted keyboard users)
    }
  });

  // --------------------------------------------------------------- buttons
  addBtn.addEventListener("click", add);
  removeBtn.addEventListener("click", function () {
    if (selected >= 0) remove(selected);
  });

  // Multi-frame files: step through the frames (the boxes apply to every frame).
  var framesEl = form.querySelector("[data-frames]");
  if (framesEl) {
    var frameUrls = JSON.parse(framesEl.dataset.frames);
    var frame = 0;
    var position = framesEl.querySelector("[data-frame-position]");
    var steps = framesEl.querySelectorAll("[data-frame-step]");
    var baseAlt = img.getAttribute("alt").replace(/, frame 1 of \d+/, "");
    steps.forEach(function (b) {
      b.addEventListener("click", function () {
        frame = clamp(frame + parseInt(b.dataset.frameStep, 10), 0, frameUrls.length - 1);
        img.src = frameUrls[frame];
        img.setAttribute("alt", baseAlt.replace(/^(The held-back image)/, "$1, frame " + (frame + 1) + " of " + frameUrls.length));
        position.textContent = "Frame " + (frame + 1) + " of " + frameUrls.length;
        steps[0].disabled = frame === 0;
        steps[1].disabled = frame === frameUrls.length - 1;
        if (b.disabled) steps[b === steps[0] ? 1 : 0].focus(); // keep the focus on a button
      });
    });
  }

  svg.setAttribute("tabindex", "-1");
  fit();
  say(summary() + (boxes.length ? " Tab to a box to move or resize it." : ""));
})();
