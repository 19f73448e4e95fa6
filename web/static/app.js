// grassroots — small behaviours shared by every page. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  // Buttons and forms with data-confirm ask before they act.
  document.addEventListener("submit", function (e) {
    var msg = (e.submitter && e.submitter.getAttribute("data-confirm")) || e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { e.preventDefault(); }
  }, true);

  // Buttons with data-print open the browser's print dialog (inline handlers are not allowed).
  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-print]")) { window.print(); }
  });

  // Organisation tree: expand and collapse a node's children, loading them the first time.
  function toggle(btn, open) {
    var li = btn.closest("li");
    var kids = li.querySelector(":scope > ul");
    if (!kids) {
      if (open === false || !window.htmx) { return; }
      window.htmx.ajax("GET", btn.dataset.children, { target: li, swap: "beforeend" });
      btn.textContent = "−";
      btn.setAttribute("aria-expanded", "true");
      return;
    }
    if (open === undefined) { open = kids.hidden; }
    kids.hidden = !open;
    btn.textContent = open ? "−" : "+";
    btn.setAttribute("aria-expanded", String(open));
  }
  document.addEventListener("click", function (e) {
    var btn = e.target.closest(".tree .toggle");
    if (btn) { toggle(btn); return; }
    if (e.target.closest("[data-expand-all]")) {
      document.querySelectorAll(".tree .toggle").forEach(function (b) { toggle(b, true); });
    }
  });

  // Charts: <div class="chart" data-chart="id-of-json-script"> with the ECharts option as JSON.
  function drawCharts(root) {
    if (!window.echarts) { return; }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) { return; }
      var src = document.getElementById(el.dataset.chart);
      if (!src) { return; }
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(JSON.parse(src.textContent));
      el.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSwap", function (e) { drawCharts(e.target); });
})();
