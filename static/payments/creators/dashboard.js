// Creator dashboard chart: earnings by day, one stacked bar series per kind.
// Loaded as a static file (strict CSP: no inline script); data from the JSON endpoint.
(function () {
  "use strict";
  function draw() {
    var canvas = document.getElementById("earnings-chart");
    if (!canvas || typeof Chart === "undefined") { return; }
    fetch(canvas.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var datasets = [];
        Object.keys(data.earnings).forEach(function (cur) {
          Object.keys(data.earnings[cur]).forEach(function (kind) {
            datasets.push({
              // The page gives each kind's name in the reader's language (data-kind-tip...).
              label: (canvas.dataset["kind" + kind.charAt(0).toUpperCase() + kind.slice(1)] || kind) + " (" + cur + ")",
              // minor units → major units, for display only
              data: data.earnings[cur][kind].map(function (v) {
                return v / Math.pow(10, data.exponents[cur] || 0);
              }),
              stack: cur
            });
          });
        });
        canvas.dataset.ready = "true";
        canvas.dataset.series = String(datasets.length);
        new Chart(canvas, {
          type: "bar",
          data: { labels: data.days, datasets: datasets },
          options: { animation: false, responsive: true, scales: { x: { stacked: true }, y: { stacked: true } } }
        });
      });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
