// The AI coach pages: the question box on /coach and in the lesson panel streams answers over a POST
// (EventSource cannot POST, so fetch + ReadableStream reads the Server-Sent Events), the curators'
// queue filters, and the stats chart. Model text is only ever inserted as text; the one HTML insert is
// the final bubble the server rendered and escaped.
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (e) {
      return "";
    }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fromHtml(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  // --- bubbles built on the page while the answer streams (the same Tabler markup as _message.html) ---

  function userBubble(text) {
    var item = el("div", "chat-item");
    item.dataset.role = "user";
    item.dataset.testid = "coach-message";
    var row = el("div", "row align-items-end justify-content-end g-2");
    var col = el("div", "col col-md-10 col-xl-9");
    var bubble = el("div", "chat-bubble chat-bubble-me");
    bubble.appendChild(el("div", "chat-bubble-body coach-text coach-plain", text));
    col.appendChild(bubble);
    row.appendChild(col);
    item.appendChild(row);
    return item;
  }

  function assistantBubble(typingLabel) {
    var item = el("div", "chat-item");
    item.dataset.role = "assistant";
    item.dataset.streaming = "1";
    item.setAttribute("data-testid", "coach-streaming");
    var row = el("div", "row align-items-end g-2");
    var avatarCol = el("div", "col-auto d-none d-sm-block");
    avatarCol.appendChild(el("span", "avatar avatar-sm bg-azure-lt", "A"));
    var col = el("div", "col col-md-10 col-xl-9");
    var bubble = el("div", "chat-bubble");
    var title = el("div", "chat-bubble-title");
    title.appendChild(el("div", "chat-bubble-author", "Alex"));
    var body = el("div", "chat-bubble-body coach-text coach-plain");
    var typing = el("span", "text-secondary coach-typing", typingLabel);
    typing.setAttribute("data-testid", "coach-typing");
    typing.appendChild(el("span", "animated-dots"));
    body.appendChild(typing);
    var text = el("span");
    text.setAttribute("data-testid", "coach-stream-text");
    body.appendChild(text);
    bubble.appendChild(title);
    bubble.appendChild(body);
    col.appendChild(bubble);
    row.appendChild(avatarCol);
    row.appendChild(col);
    item.appendChild(row);
    return { item: item, typing: typing, text: text, body: body };
  }

  // --- Server-Sent Events over fetch ---

  function parseEvent(block) {
    var name = "message";
    var data = [];
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event:") === 0) name = line.slice(6).trim();
      else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
    });
    var payload = null;
    if (data.length) {
      try {
        payload = JSON.parse(data.join("\n"));
      } catch (e) {
        payload = null;
      }
    }
    return { name: name, data: payload };
  }

  async function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n/g, "\n");
      var cut;
      while ((cut = buffer.indexOf("\n\n")) !== -1) {
        var block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (block.trim()) onEvent(parseEvent(block));
      }
    }
    if (buffer.trim()) onEvent(parseEvent(buffer));
  }

  // The page routes answer errors the HTMX way (we send HX-Request): a toast message in HX-Trigger.
  function errorDetail(response) {
    var header = response.headers.get("HX-Trigger");
    if (!header) return "";
    try {
      var toast = JSON.parse(header)["academy:toast"];
      return toast && toast.message ? String(toast.message) : "";
    } catch (e) {
      return "";
    }
  }

  // The chat page's history list (the panel has none): titles, dates and the waiting badges.
  function refreshHistory(id) {
    var box = document.getElementById("coach-history");
    if (!box || typeof htmx === "undefined") return;
    htmx.ajax("GET", "/coach?c=" + id, { target: box, swap: "innerHTML" });
  }

  // --- one question box (chat page or lesson panel) ---

  function setup(root) {
    var form = root.querySelector("[data-coach-form]");
    var thread = root.querySelector("[data-coach-thread]");
    if (!form || !thread || form.dataset.bound) return;
    form.dataset.bound = "1";
    var input = form.querySelector("textarea[name=text]");
    var send = form.querySelector("button[type=submit]");
    var errorBox = form.querySelector("[data-coach-error]");
    var conversationField = form.querySelector("input[name=conversation_id]");
    var isChatPage = root.dataset.coachPage === "chat";
    var msg = form.dataset;

    function showError(text) {
      errorBox.textContent = text;
      errorBox.hidden = !text;
    }

    function scrollToEnd(node) {
      if (node && node.scrollIntoView) node.scrollIntoView({ block: "end", behavior: "smooth" });
    }

    function messagesList() {
      var list = thread.querySelector("[data-coach-messages]");
      if (list) return list;
      // A new conversation: replace the empty state with an empty conversation until the reload.
      thread.textContent = "";
      var conversation = el("div", "coach-conversation");
      var chat = el("div", "chat");
      list = el("div", "chat-bubbles");
      list.setAttribute("data-coach-messages", "");
      chat.appendChild(list);
      conversation.appendChild(chat);
      thread.appendChild(conversation);
      return list;
    }

    function reloadConversation(id) {
      if (!id || typeof htmx === "undefined") return Promise.resolve();
      return htmx.ajax("GET", "/coach/conversations/" + id, { target: thread, swap: "innerHTML" }).then(function () {
        scrollToEnd(thread.querySelector(".chat-item:last-child"));
      });
    }

    function conversationStarted(id) {
      if (!id) return;
      conversationField.value = String(id);
      // The course belongs to the conversation from now on.
      var picker = form.querySelector("[data-coach-course]");
      if (picker) picker.hidden = true;
      if (isChatPage) {
        history.replaceState(null, "", "/coach?c=" + id);
      } else {
        var link = root.querySelector("[data-coach-full-link]");
        if (link) link.href = "/coach?c=" + id;
      }
    }

    async function ask(text) {
      showError("");
      var list = messagesList();
      var question = userBubble(text);
      var answer = assistantBubble(msg.msgTyping);
      list.appendChild(question);
      list.appendChild(answer.item);
      scrollToEnd(answer.item);
      var body = new URLSearchParams(new FormData(form));
      var response;
      try {
        response = await fetch(form.dataset.action, {
          method: "POST",
          body: body,
          credentials: "same-origin",
          headers: { "X-CSRF-Token": csrfToken(), "HX-Request": "true", Accept: "text/event-stream" },
        });
      } catch (e) {
        question.remove();
        answer.item.remove();
        showError(msg.msgNetwork);
        return false;
      }
      var redirect = response.headers.get("HX-Redirect");
      if (redirect || (response.redirected && response.url.indexOf("/login") !== -1)) {
        question.remove();
        answer.item.remove();
        showError(msg.msgSession);
        return false;
      }
      var type = response.headers.get("content-type") || "";
      if (!response.ok || type.indexOf("text/event-stream") !== 0 || !response.body) {
        question.remove();
        answer.item.remove();
        var detail = errorDetail(response);
        if (response.status === 429) showError(detail || msg.msgLimit);
        else if (response.status === 403 && !detail) showError(msg.msgSession);
        else showError(detail || msg.msgFailed);
        return false;
      }
      // The question is stored once the stream starts, so the box can be emptied.
      input.value = "";
      var conversationId = conversationField.value;
      var finished = false;
      try {
        await readEvents(response, function (event) {
          var data = event.data || {};
          if (event.name === "meta") {
            conversationId = data.conversation_id;
            conversationStarted(conversationId);
            thread.dataset.conversationId = conversationId;
          } else if (event.name === "token") {
            if (answer.typing.parentNode) answer.typing.remove();
            answer.text.textContent += data.text || "";
          } else if (event.name === "done") {
            finished = true;
            var node = data.html ? fromHtml(data.html) : null;
            if (node) {
              answer.item.replaceWith(node);
              htmx.process(node);
              scrollToEnd(node);
            }
            if (data.message && data.message.conversation_id) conversationId = data.message.conversation_id;
          } else if (event.name === "error") {
            finished = true;
            if (answer.typing.parentNode) answer.typing.remove();
            var note = el("div", "alert alert-danger py-2 px-3 mt-2 mb-0 small", data.detail || msg.msgFailed);
            note.setAttribute("role", "alert");
            answer.body.appendChild(note);
            answer.item.removeAttribute("data-streaming");
            if (!input.value) input.value = text;
          }
        });
      } catch (e) {
        finished = false;
      }
      if (!finished) {
        if (answer.typing.parentNode) answer.typing.remove();
        answer.item.removeAttribute("data-streaming");
        showError(msg.msgInterrupted);
      }
      if (conversationId) {
        // The server's view of the conversation: title, "ask a human", and the waiting state that polls.
        await reloadConversation(conversationId);
        refreshHistory(conversationId);
      }
      return true;
    }

    form.addEventListener("submit", async function (e) {
      e.preventDefault();
      var text = input.value.trim();
      if (!text || root.dataset.streaming === "1") return;
      root.dataset.streaming = "1";
      send.disabled = true;
      send.classList.add("btn-loading");
      try {
        await ask(text);
      } finally {
        root.dataset.streaming = "";
        send.disabled = false;
        send.classList.remove("btn-loading");
        input.focus();
      }
    });

    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });

    root.addEventListener("click", function (e) {
      var example = e.target.closest("[data-coach-example]");
      if (!example) return;
      input.value = example.textContent.trim();
      input.focus();
    });

    var last = thread.querySelector(".chat-item:last-child");
    if (last && isChatPage) last.scrollIntoView({ block: "end" });
  }

  // A conversation waiting for a curator polls itself; never while an answer streams into it.
  document.addEventListener("htmx:beforeRequest", function (e) {
    var source = e.detail && e.detail.elt;
    if (!source || !source.classList || !source.classList.contains("coach-conversation")) return;
    var root = source.closest("[data-coach]");
    if (root && root.dataset.streaming === "1") e.preventDefault();
  });

  // When a waiting conversation comes back answered (its poll swapped it in), the history badge and
  // the view follow it.
  var waiting = {};

  function noteWaiting(scope) {
    scope.querySelectorAll(".coach-conversation[data-waiting=true]").forEach(function (node) {
      waiting[node.dataset.conversationId] = true;
    });
  }

  document.addEventListener("htmx:load", function (e) {
    var node = e.detail && e.detail.elt;
    if (!node || !node.classList || !node.classList.contains("coach-conversation")) return;
    var id = node.dataset.conversationId;
    if (node.dataset.waiting === "true") {
      waiting[id] = true;
    } else if (waiting[id]) {
      delete waiting[id];
      refreshHistory(id);
      var last = node.querySelector(".chat-item:last-child");
      if (last) last.scrollIntoView({ block: "end", behavior: "smooth" });
    }
  });

  // --- queue filters and the stats chart ---

  function autosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      if (select.dataset.bound) return;
      select.dataset.bound = "1";
      select.addEventListener("change", function () {
        select.form.requestSubmit();
      });
    });
  }

  function charts() {
    if (typeof Chart === "undefined") return;
    document.querySelectorAll("canvas[data-coach-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      var source = document.getElementById(canvas.dataset.coachChart);
      if (!source) return;
      var data = JSON.parse(source.textContent);
      canvas.dataset.drawn = "1";
      new Chart(canvas, {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [{ label: canvas.getAttribute("aria-label"), data: data.values, backgroundColor: "#206bc4" }],
        },
        options: {
          indexAxis: "y",
          animation: false,
          maintainAspectRatio: false,
          plugins: { legend: { display: false } },
          scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
        },
      });
    });
  }

  function scan() {
    document.querySelectorAll("[data-coach]").forEach(setup);
    noteWaiting(document);
    autosubmit();
    charts();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
  else scan();
})();
