// Channel page: the equity-in-R chart, and a live feed that reloads when the channel publishes.
(function () {
  "use strict";

  function drawEquity() {
    var canvas = document.getElementById("equity-r");
    if (!canvas || !window.Chart) return;
    var points = JSON.parse(canvas.dataset.points || "[]");
    var labels = points.map(function (p) { return new Date(p[0]).toLocaleDateString(); });
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: labels,
        datasets: [{
          label: canvas.dataset.label,
          data: points.map(function (p) { return p[1]; }),
          borderColor: "#206bc4",
          backgroundColor: "rgba(32,107,196,0.08)",
          fill: true,
          stepped: true,
          pointRadius: 0,
        }],
      },
      options: {
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: { x: { ticks: { maxTicksLimit: 8 } }, y: { title: { display: true, text: "R" } } },
      },
    });
  }

  function listen() {
    var feed = document.querySelector("[data-live-channel]");
    if (!feed || !window.WebSocket) return;
    var topic = "channel:" + feed.dataset.liveChannel;
    var delay = 1000;
    function connect() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var socket = new WebSocket(scheme + location.host + "/ws/lab");
      socket.onopen = function () {
        delay = 1000;
        socket.send(JSON.stringify({ subscribe: [topic] }));
      };
      socket.onmessage = function (event) {
        var message = JSON.parse(event.data);
        if (message.type === "signal" && window.htmx) {
          window.htmx.trigger(document.body, "signal-published");
        }
      };
      socket.onclose = function (event) {
        if (event.code >= 4400 && event.code < 4500) return; // refused: reconnecting won't help
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 30000);
      };
    }
    connect();
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawEquity();
    listen();
  });
})();
