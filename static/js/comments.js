// Discussion on the case page: clicking a handle in "Mention someone" types it into the box.
// Progressive enhancement only: without JavaScript the handles are shown to type by hand.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-mention]");
    if (!button) { return; }
    var box = document.getElementById(button.getAttribute("data-target"));
    if (!box) { return; }
    var text = "@" + button.getAttribute("data-mention") + " ";
    var start = box.selectionStart || box.value.length;
    var before = box.value.slice(0, start);
    if (before && !/\s$/.test(before)) { text = " " + text; }
    box.value = before + text + box.value.slice(box.selectionEnd || start);
    box.focus();
    var caret = before.length + text.length;
    box.setSelectionRange(caret, caret);
  });
})();
