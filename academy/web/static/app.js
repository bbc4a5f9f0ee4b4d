// Toasts for HTMX errors and for server-sent `academy:toast` events (see kit/htmx.py).
(function () {
  function toast(message, level) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast show border-" + (level || "danger");
    el.setAttribute("role", "alert");
    var body = document.createElement("div");
    body.className = "toast-body";
    body.textContent = message;
    el.appendChild(body);
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, 6000);
  }
  document.addEventListener("academy:toast", function (e) { toast(e.detail.message, e.detail.level); });
  document.addEventListener("htmx:sendError", function () { toast("Network error: check your connection."); });
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    if (xhr && xhr.getResponseHeader("HX-Trigger")) return; // the server already sent a toast
    toast("Request failed (" + (xhr ? xhr.status : "?") + ")");
  });
})();
