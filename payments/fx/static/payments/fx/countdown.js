// Counts down the live FX quote (elements with data-fx-countdown = expiry as Unix seconds)
// and disables its confirm button once expired; htmx then swaps in a fresh quote
// (hx-trigger "load delay" on the panel). A static file: the CSP allows no inline script.
(function () {
  "use strict";
  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll("[data-fx-countdown]").forEach(function (el) {
      var left = Math.max(0, Math.ceil(Number(el.getAttribute("data-fx-countdown")) - now));
      el.textContent = String(left);
      if (left === 0) {
        var panel = el.closest("section");
        if (panel) {
          panel.querySelectorAll("[data-fx-confirm]").forEach(function (b) { b.disabled = true; });
        }
      }
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
})();
