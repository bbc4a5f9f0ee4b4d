// The curator pages: charts drawn from the JSON the server put next to each canvas, and the live
// notification panel. Live notifications reach every page over /ws (see web/live.py); when one
// arrives, the panel asks the server for its fragment again (the server keeps only the curator's
// kinds), and the items that were not there before are highlighted at the top.
(function () {
  "use strict";

  var COLOURS = ["#206bc4", "#adb5bd", "#2fb344", "#f76707"];

  function percent(value) {
    return value === null || value === undefined ? "—" : Math.round(value * 100) + "%";
  }

  function draw(canvas) {
    if (canvas.dataset.drawn || typeof Chart === "undefined") return;
    var source = document.getElementById(canvas.dataset.curatorChart);
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var isPercent = canvas.dataset.percent === "1";
    var kind = canvas.dataset.kind || "bar";
    canvas.dataset.drawn = "1";
    new Chart(canvas, {
      type: kind,
      data: {
        labels: data.labels,
        datasets: [
          {
            label: canvas.getAttribute("aria-label"),
            data: data.values,
            borderColor: COLOURS[0],
            backgroundColor: kind === "line" ? "rgba(32, 107, 196, 0.15)" : data.labels.map(function (_, i) { return COLOURS[i % COLOURS.length]; }),
            fill: kind === "line",
            tension: 0.25,
            pointRadius: kind === "line" ? 2 : 0,
          },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: {
          legend: { display: false },
          tooltip: isPercent ? { callbacks: { label: function (ctx) { return percent(ctx.raw); } } } : {},
        },
        scales: {
          y: isPercent
            ? { beginAtZero: true, max: 1, ticks: { callback: function (v) { return percent(v); } } }
            : { beginAtZero: true, ticks: { precision: 0 } },
          x: { ticks: { autoSkip: true, maxRotation: 0 } },
        },
      },
    });
  }

  function charts(root) {
    (root || document).querySelectorAll("canvas[data-curator-chart]").forEach(draw);
  }

  // --- the live notification panel ---

  var PANEL = "curator-notifications";
  var known = null;
  var pending = null;

  function panelIds() {
    var ids = {};
    document.querySelectorAll("#" + PANEL + " [data-notification-id]").forEach(function (el) {
      ids[el.dataset.notificationId] = true;
    });
    return ids;
  }

  function refreshPanel() {
    var panel = document.getElementById(PANEL);
    if (!panel || typeof htmx === "undefined") return;
    // Several notifications can arrive at once; one refresh covers them all.
    if (pending) clearTimeout(pending);
    pending = setTimeout(function () {
      pending = null;
      known = panelIds();
      htmx.trigger(panel, "curator:refresh");
    }, 250);
  }

  function markNew() {
    if (!known) return;
    document.querySelectorAll("#" + PANEL + " [data-notification-id]").forEach(function (el) {
      if (!known[el.dataset.notificationId]) {
        el.classList.add("curator-new");
        el.setAttribute("data-new", "1");
      }
    });
    known = null;
  }

  document.addEventListener("htmx:wsAfterMessage", function (event) {
    var message = event.detail && event.detail.message;
    // Only notifications change the panel; the socket carries them as out-of-band fragments.
    if (typeof message === "string" && message.indexOf('id="notification-feed"') === -1) return;
    refreshPanel();
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === PANEL) markNew();
    // An outerHTML swap (the dashboard's cards and charts) leaves `target` detached: look everywhere;
    // a canvas already drawn is skipped.
    charts(document);
  });

  // The dashboard's lazily loaded cards and charts: a failed load says so instead of spinning forever.
  function lazyFailed(event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-curator-lazy")) return;
    var note = document.createElement("div");
    note.className = "col-12 alert alert-warning mb-0";
    note.setAttribute("role", "alert");
    note.setAttribute("data-testid", "lazy-error");
    note.textContent = elt.dataset.error || "";
    elt.removeAttribute("aria-busy");
    elt.replaceChildren(note);
  }
  document.addEventListener("htmx:responseError", lazyFailed);
  document.addEventListener("htmx:sendError", lazyFailed);
  // An outerHTML swap replaces the target element, so the new panel is found by id afterwards.
  document.addEventListener("htmx:afterSettle", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.id === PANEL) markNew();
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { charts(); });
  else charts();
})();
