// Backtest pages: line charts from JSON embedded in the page (also after HTMX swaps), and the
// rule textarea's error selected at its line and column.
(function () {
  var COLORS = ["#206bc4", "#d63939", "#2fb344", "#f76707", "#ae3ec9", "#0ca678"];

  function day(ms) {
    return new Date(ms).toISOString().slice(0, 10);
  }

  function draw(canvas) {
    if (canvas.dataset.drawn || typeof Chart === "undefined") return;
    var source = document.getElementById(canvas.dataset.source);
    if (!source) return;
    var series = JSON.parse(source.textContent);
    canvas.dataset.drawn = "1";
    var fill = canvas.dataset.fill === "1";
    new Chart(canvas, {
      type: "line",
      data: {
        datasets: series.map(function (s, i) {
          var color = COLORS[i % COLORS.length];
          return {
            label: s.label,
            data: s.t.map(function (t, j) { return { x: Date.parse(t), y: s.v[j] }; }),
            borderColor: color,
            backgroundColor: fill ? color + "33" : color,
            fill: fill ? "origin" : false,
            pointRadius: 0,
            borderWidth: 1.5,
            spanGaps: true,
          };
        }),
      },
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        maintainAspectRatio: false,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          x: { type: "linear", ticks: { callback: day, maxTicksLimit: 6 } },
          y: { reverse: canvas.dataset.reverse === "1" },
        },
        plugins: {
          legend: { display: series.length > 1 },
          tooltip: { callbacks: { title: function (items) { return items.length ? day(items[0].parsed.x) : ""; } } },
        },
      },
    });
  }

  function markRuleError(root) {
    var area = root.querySelector("textarea[data-error-line]");
    if (!area) return;
    var lines = area.value.split("\n");
    var line = Math.min(parseInt(area.dataset.errorLine, 10) || 1, lines.length);
    var offset = 0;
    for (var i = 0; i < line - 1; i++) offset += lines[i].length + 1;
    offset += Math.max((parseInt(area.dataset.errorColumn, 10) || 1) - 1, 0);
    offset = Math.min(offset, area.value.length);
    area.focus();
    area.setSelectionRange(offset, Math.min(offset + 1, area.value.length));
  }

  function scan() {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
    // Once per form: the runs list polls and settles too, and must not steal the focus each time.
    var form = document.getElementById("backtest-form");
    if (form && !form.dataset.marked) {
      form.dataset.marked = "1";
      markRuleError(form);
    }
  }

  document.addEventListener("DOMContentLoaded", scan);
  document.addEventListener("htmx:afterSettle", scan);
})();
