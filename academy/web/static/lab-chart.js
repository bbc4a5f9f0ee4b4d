// The lab's candlestick chart (templates/lab/chart.html): bars and indicators from the page's JSON
// routes, signal markers, and new closed bars from /ws/lab. Indicators are always TA-Lib's values
// from the server, fetched again after live bars, so the chart never shows a client-side approximation.
(function () {
  "use strict";
  var root = document.getElementById("lab-chart");
  var LC = window.LightweightCharts;
  if (!root || !LC) return;
  var cfg = JSON.parse(root.dataset.config);
  var T = cfg.text;
  var statusEl = document.getElementById("lab-chart-status");
  var errorEl = document.getElementById("lab-chart-error");
  var tooltip = document.getElementById("lab-chart-tooltip");
  var signalList = document.getElementById("lab-signals");
  var MAX_BARS = 5000;

  // The picker form submits itself: the server answers with the canonical address of the new state.
  var form = document.getElementById("lab-chart-form");
  if (form) {
    form.addEventListener("change", function (e) {
      if (!e.target.matches("select, input[type=checkbox]")) return;
      // Another instrument may lack this timeframe: let the server pick one it has.
      if (e.target.name === "instrument") form.elements.tf.disabled = true;
      form.requestSubmit();
    });
  }
  // A signal link (?at=) keeps its address, so reloading it shows that signal again.
  if (cfg.canonical && !cfg.at && location.pathname + location.search !== cfg.canonical) {
    history.replaceState(null, "", cfg.canonical);
  }

  var zone = cfg.timezone || "UTC";
  function formatter(options) {
    try {
      return new Intl.DateTimeFormat(cfg.locale || undefined, Object.assign({ timeZone: zone }, options));
    } catch (err) {
      return new Intl.DateTimeFormat(undefined, Object.assign({ timeZone: "UTC" }, options));
    }
  }
  var fullTime = formatter(cfg.intraday
    ? { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }
    : { year: "numeric", month: "short", day: "numeric" });
  var tickFormats = [
    formatter({ year: "numeric" }),
    formatter({ month: "short" }),
    formatter({ month: "short", day: "numeric" }),
    formatter({ hour: "2-digit", minute: "2-digit" }),
    formatter({ hour: "2-digit", minute: "2-digit", second: "2-digit" }),
  ];

  var placeholder = root.querySelector("[data-chart-placeholder]");
  var chart = LC.createChart(root, {
    autoSize: true,
    layout: { attributionLogo: false, fontSize: 11, panes: { separatorColor: "#e6e7e9" } },
    grid: { vertLines: { color: "#f1f3f5" }, horzLines: { color: "#f1f3f5" } },
    rightPriceScale: { borderVisible: false },
    timeScale: { borderVisible: false, timeVisible: cfg.intraday, secondsVisible: false,
      tickMarkFormatter: function (time, kind) { return tickFormats[kind].format(new Date(time * 1000)); } },
    localization: { timeFormatter: function (time) { return fullTime.format(new Date(time * 1000)); } },
  });
  var priceFormat = { type: "price", precision: cfg.instrument.precision, minMove: cfg.instrument.tick };
  var candles = chart.addSeries(LC.CandlestickSeries, {
    upColor: "#2fb344", downColor: "#d63939", wickUpColor: "#2fb344", wickDownColor: "#d63939",
    borderVisible: false, priceFormat: priceFormat,
  }, 0);
  var markers = LC.createSeriesMarkers(candles, []);

  var COLORS = ["#206bc4", "#f76707", "#ae3ec9", "#0ca678", "#d6336c", "#74b816"];
  var paneCount = 1;
  var plots = []; // {indicator, series: {output: ISeriesApi}}
  var volume = null;
  cfg.indicators.forEach(function (ind, n) {
    var color = COLORS[n % COLORS.length];
    if (ind.name === "vol") {
      volume = chart.addSeries(LC.HistogramSeries, { priceFormat: { type: "volume" }, title: ind.label,
        lastValueVisible: false, priceLineVisible: false }, paneCount++);
      return;
    }
    var pane = ind.overlay ? 0 : paneCount++;
    var series = {};
    ind.outputs.forEach(function (output, k) {
      var title = ind.outputs.length > 1 ? ind.label + " " + output : ind.label;
      if (ind.name === "macd" && output === "hist") {
        series[output] = chart.addSeries(LC.HistogramSeries, { title: title, lastValueVisible: false,
          priceLineVisible: false }, pane);
      } else {
        series[output] = chart.addSeries(LC.LineSeries, {
          color: ind.name === "bbands" && output !== "middle" ? color + "99" : k ? COLORS[(n + k) % COLORS.length] : color,
          lineWidth: ind.name === "bbands" && output !== "middle" ? 1 : 2,
          title: title, lastValueVisible: !ind.overlay, priceLineVisible: false,
          crosshairMarkerVisible: false, priceFormat: ind.overlay ? priceFormat : undefined,
        }, pane);
      }
    });
    if (ind.name === "rsi" || ind.name === "stoch" || ind.name === "willr") {
      var levels = ind.name === "willr" ? [-20, -80] : ind.name === "rsi" ? [70, 30] : [80, 20];
      levels.forEach(function (level) {
        series[ind.outputs[0]].createPriceLine({ price: level, color: "#adb5bd", lineWidth: 1, lineStyle: 2,
          axisLabelVisible: false });
      });
    }
    plots.push({ indicator: ind, series: series });
  });
  chart.panes().forEach(function (pane, i) { pane.setStretchFactor(i === 0 ? 3 : 1); });

  var bars = []; // ascending, as the server sent them and live updates extended them

  function url(base, params) {
    var q = new URLSearchParams(params);
    return base + "?" + q.toString();
  }
  function getJSON(address) {
    return fetch(address, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) { var e = new Error("HTTP " + r.status); e.status = r.status; throw e; }
        return r.json();
      });
  }
  function showError() {
    if (placeholder) placeholder.remove();
    errorEl.textContent = T.load_failed;
    errorEl.hidden = false;
  }
  function volumeBar(b) {
    return { time: b.time, value: b.volume, color: b.close >= b.open ? "rgba(47,179,68,0.45)" : "rgba(214,57,57,0.45)" };
  }

  function setBars(list) {
    bars = list;
    candles.setData(bars.map(function (b) {
      return { time: b.time, open: b.open, high: b.high, low: b.low, close: b.close };
    }));
    if (volume) volume.setData(bars.map(volumeBar));
  }

  function applyBar(b) {
    var last = bars.length ? bars[bars.length - 1].time : -Infinity;
    if (b.time < last) return false; // older than what is drawn: a reload already has it
    if (b.time === last) bars[bars.length - 1] = b; else bars.push(b);
    if (bars.length > MAX_BARS) bars.shift();
    candles.update({ time: b.time, open: b.open, high: b.high, low: b.low, close: b.close });
    if (volume) volume.update(volumeBar(b));
    return true;
  }

  function loadIndicators() {
    if (!plots.length || !bars.length) return Promise.resolve();
    var limit = String(Math.min(bars.length, MAX_BARS));
    return Promise.all(plots.map(function (plot) {
      var params = Object.assign({ timeframe: cfg.timeframe, name: plot.indicator.name, limit: limit }, plot.indicator.params);
      return getJSON(url(cfg.urls.indicators, params)).then(function (data) {
        Object.keys(plot.series).forEach(function (output) {
          var values = data.values[output] || [];
          plot.series[output].setData(data.time.map(function (t, i) {
            var v = values[i];
            if (v === null || v === undefined) return { time: t };
            if (plot.indicator.name === "macd" && output === "hist") {
              return { time: t, value: v, color: v >= 0 ? "rgba(47,179,68,0.6)" : "rgba(214,57,57,0.6)" };
            }
            return { time: t, value: v };
          }));
        });
      });
    }));
  }

  var indicatorTimer = null;
  function refreshIndicatorsSoon() {
    clearTimeout(indicatorTimer);
    // Several bars often arrive together; one round of requests covers them all.
    indicatorTimer = setTimeout(function () { loadIndicators().catch(function () {}); }, 400);
  }

  // --- signals ---
  var signals = [];
  function escapeText(s) {
    var div = document.createElement("div");
    div.textContent = s === null || s === undefined ? "" : String(s);
    return div.innerHTML;
  }
  function signalBarTime(signal) {
    // A signal is decided on a closed bar and acted on at the next one: mark the bar after bar_time.
    var decided = Math.floor(Date.parse(signal.bar_time) / 1000);
    for (var i = 0; i < bars.length; i++) if (bars[i].time > decided) return bars[i].time;
    return null;
  }
  function describe(signal) {
    var side = signal.side === "long" ? T.long : T.short;
    var parts = [side + " · " + (signal.channel_name || "")];
    var entry = signal.entry !== null && signal.entry !== undefined ? signal.entry : signal.reference_price;
    parts.push(T.entry + " " + (entry === null || entry === undefined ? "—" : entry) + " · " + T.stop + " " +
      (signal.stop === null || signal.stop === undefined ? "—" : signal.stop));
    if (signal.targets && signal.targets.length) parts.push(T.targets + " " + signal.targets.join(", "));
    if (signal.confidence !== null && signal.confidence !== undefined) {
      parts.push(T.confidence + " " + Math.round(signal.confidence * 100) + "%");
    }
    return parts;
  }
  function drawSignals() {
    var placed = [];
    signals.forEach(function (s) {
      var t = signalBarTime(s);
      s._time = t;
      if (t === null) return;
      var long = s.side === "long";
      placed.push({ time: t, position: long ? "belowBar" : "aboveBar", shape: long ? "arrowUp" : "arrowDown",
        color: long ? "#2fb344" : "#d63939", text: long ? T.long : T.short, id: String(s.id) });
    });
    placed.sort(function (a, b) { return a.time - b.time; });
    markers.setMarkers(placed);
    if (!signals.length) {
      signalList.innerHTML = '<div class="list-group-item text-secondary">' + escapeText(T.signals_none) + "</div>";
      return;
    }
    signalList.innerHTML = signals.slice().reverse().map(function (s) {
      var lines = describe(s);
      return '<div class="list-group-item" data-testid="signal-row"><div class="d-flex gap-2">' +
        '<span class="badge ' + (s.side === "long" ? "bg-green-lt" : "bg-red-lt") + '">' + escapeText(lines[0]) + "</span>" +
        '<span class="text-secondary ms-auto">' + escapeText(fullTime.format(new Date(Date.parse(s.bar_time)))) + "</span></div>" +
        "<div>" + escapeText(lines.slice(1).join(" · ")) + "</div>" +
        (s.reason ? '<div class="text-secondary">' + escapeText(s.reason) + "</div>" : "") + "</div>";
    }).join("");
  }
  function loadSignals() {
    var address = url(cfg.urls.signals, { instrument_id: cfg.instrument.id, timeframe: cfg.timeframe, limit: 500 });
    return getJSON(address).then(function (data) {
      signals = (data.items || []).slice().sort(function (a, b) { return Date.parse(a.bar_time) - Date.parse(b.bar_time); });
      drawSignals();
    }).catch(function () {
      // Signals are optional here: without them (or without access) the chart stands alone.
      signals = [];
      drawSignals();
    });
  }
  chart.subscribeCrosshairMove(function (param) {
    var hits = param.time && param.point ? signals.filter(function (s) { return s._time === param.time; }) : [];
    if (!hits.length) { tooltip.style.display = "none"; return; }
    tooltip.innerHTML = hits.map(function (s) {
      return "<div>" + describe(s).map(escapeText).join("<br>") + (s.reason ? '<br><span class="text-secondary">' + escapeText(s.reason) + "</span>" : "") + "</div>";
    }).join("<hr class='my-1'>");
    tooltip.style.display = "block";
    var x = Math.min(param.point.x + 16, root.clientWidth - tooltip.offsetWidth - 8);
    tooltip.style.left = Math.max(8, x) + "px";
    tooltip.style.top = Math.max(8, param.point.y - tooltip.offsetHeight - 12) + "px";
  });

  // --- live ---
  var topic = "bars:" + cfg.instrument.id + ":" + cfg.timeframe;
  var retry = 1000;
  function setStatus(text, live) {
    if (!statusEl) return;
    statusEl.textContent = text;
    statusEl.className = "badge " + (live ? "bg-green-lt" : "bg-secondary-lt");
  }
  function fillGap() {
    // Bars stored while the socket was (re)connecting reach the page through this one request.
    if (!bars.length) return;
    var params = { timeframe: cfg.timeframe, start: new Date(bars[bars.length - 1].time * 1000).toISOString(), limit: MAX_BARS };
    getJSON(url(cfg.urls.bars, params)).then(function (data) {
      var changed = false;
      data.bars.forEach(function (b) { changed = applyBar(b) || changed; });
      if (changed) { refreshIndicatorsSoon(); drawSignals(); }
    }).catch(function () {});
  }
  function connect() {
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + cfg.urls.socket);
    ws.onopen = function () { retry = 1000; ws.send(JSON.stringify({ subscribe: [topic] })); };
    ws.onmessage = function (event) {
      var msg;
      try { msg = JSON.parse(event.data); } catch (err) { return; }
      if (msg.topic !== topic) return;
      if (msg.type === "subscribed") { setStatus(T.live, true); fillGap(); }
      else if (msg.type === "refused") { setStatus(T.offline, false); ws.onclose = null; ws.close(); }
      else if (msg.type === "bar" && applyBar(msg.bar)) { refreshIndicatorsSoon(); drawSignals(); }
    };
    ws.onclose = function () {
      setStatus(T.offline, false);
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  function loadBars(limit) {
    return getJSON(url(cfg.urls.bars, { timeframe: cfg.timeframe, limit: limit })).then(function (data) {
      // A link to an older signal (?at=) needs history back to it: ask once for the most we serve.
      if (cfg.at && data.bars.length === limit && limit < MAX_BARS && data.bars[0].time > cfg.at) {
        return loadBars(MAX_BARS);
      }
      return data;
    });
  }
  function frame() {
    var n = bars.length;
    var focus = n - 1;
    if (cfg.at) {
      for (var i = 0; i < n; i++) if (bars[i].time <= cfg.at) focus = i;
    }
    if (n > 150 || cfg.at) {
      chart.timeScale().setVisibleLogicalRange({ from: Math.max(0, focus - 110), to: cfg.at ? focus + 40 : focus + 3 });
    } else {
      chart.timeScale().fitContent();
    }
  }

  loadBars(cfg.limit)
    .then(function (data) {
      if (placeholder) placeholder.remove();
      setBars(data.bars);
      frame();
      return Promise.all([loadIndicators(), loadSignals()]);
    })
    .then(function () { root.dataset.ready = "1"; connect(); })
    .catch(function (err) { if (window.console) console.warn("chart:", err); showError(); });
})();
