// Homework pages: the character count under an answer, and adding/removing rubric rows in the
// assignment editor. Without JavaScript the editor still offers a fixed number of rows.
(function () {
  function counters(root) {
    root.querySelectorAll("textarea[data-count]").forEach(function (area) {
      var target = document.getElementById(area.dataset.count);
      if (!target || area.dataset.counting) return;
      area.dataset.counting = "1";
      var update = function () { target.textContent = String(area.value.length); };
      area.addEventListener("input", update);
      update();
    });
  }

  function rubric(root) {
    var rows = root.querySelector("#rubric-rows");
    var add = root.querySelector("[data-add-row]");
    if (!rows || !add || add.dataset.bound) return;
    add.dataset.bound = "1";
    add.classList.remove("d-none");
    var next = rows.querySelectorAll("[data-rubric-row]").length;

    function bindRemove(row) {
      var button = row.querySelector("[data-remove-row]");
      if (!button) return;
      button.classList.remove("d-none");
      button.addEventListener("click", function () {
        if (rows.querySelectorAll("[data-rubric-row]").length > 1) {
          row.remove();
        } else {
          row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
        }
      });
    }

    rows.querySelectorAll("[data-rubric-row]").forEach(bindRemove);
    add.addEventListener("click", function () {
      var template = rows.querySelector("[data-rubric-row]");
      if (!template) return;
      var row = template.cloneNode(true);
      // Field names carry the row number; the server reads rows in number order and skips gaps.
      row.querySelectorAll("input").forEach(function (input) {
        input.name = input.name.replace(/^rubric-\d+-/, "rubric-" + next + "-");
        input.value = "";
        input.classList.remove("is-invalid");
      });
      row.querySelectorAll(".invalid-feedback").forEach(function (el) { el.remove(); });
      next += 1;
      rows.appendChild(row);
      var button = row.querySelector("[data-remove-row]");
      if (button) {
        var fresh = button.cloneNode(true);
        button.replaceWith(fresh);
      }
      bindRemove(row);
      row.querySelector("input").focus();
    });
  }

  function init(root) {
    counters(root);
    rubric(root);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function (e) { init(e.target); });
})();
