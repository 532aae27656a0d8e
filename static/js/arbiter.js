// Arbiter's page behaviour. Loaded as a file so the Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";

  // Progress bars: widths come from data-progress, set through the CSSOM (allowed by the CSP).
  function applyProgress(root) {
    root.querySelectorAll("[data-progress]").forEach(function (bar) {
      bar.style.width = Math.max(0, Math.min(100, Number(bar.dataset.progress))) + "%";
    });
  }

  // Line charts of metric values across versions: <canvas data-chart="id-of-json-script">.
  function drawCharts(root) {
    if (typeof Chart === "undefined") return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) return;
      var series = JSON.parse(source.textContent);
      var palette = ["#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];
      var datasets = Object.keys(series).map(function (label, i) {
        return {
          label: label,
          data: series[label].map(function (p) { return { x: p[0], y: p[1] }; }),
          borderColor: palette[i % palette.length],
          backgroundColor: palette[i % palette.length],
          tension: 0.2,
        };
      });
      new Chart(canvas, {
        type: "line",
        data: { datasets: datasets },
        options: {
          maintainAspectRatio: false,
          animation: false,
          scales: {
            x: { type: "linear", title: { display: true, text: "Version" }, ticks: { stepSize: 1, precision: 0 } },
            y: { title: { display: true, text: "Value" } },
          },
          plugins: { legend: { position: "bottom" } },
        },
      });
      canvas.dataset.drawn = "1";
    });
  }

  // Copy buttons: <button data-copy-target="id">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var target = document.getElementById(button.dataset.copyTarget);
    if (target && navigator.clipboard) {
      navigator.clipboard.writeText(target.textContent.trim()).then(function () {
        button.textContent = "Copied";
      });
    }
  });

  // Confirmation for destructive buttons: <button data-confirm="message">.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = (button && button.dataset.confirm) || event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // Keep addresses short and shareable: drop empty filter fields from htmx GET requests.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb !== "get") return;
    var data = event.detail.formData;
    Array.from(data.keys()).forEach(function (key) {
      if (data.getAll(key).every(function (v) { return v === ""; })) data.delete(key);
    });
  });

  function init(root) {
    applyProgress(root);
    drawCharts(root);
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function (event) { init(event.target); });
  window.Arbiter = { init: init };
})();
