// Forms that send her report or her files, on a slow phone:
// - files over the limits are named before anything is sent (a video over the limit would
//   otherwise upload for hours before the server could refuse it);
// - once sent, the button says so and a second tap does nothing (a second post would make
//   the browser drop the answer to the first).
// Without scripts the server still refuses, and the final step is idempotent.
(function () {
  "use strict";

  function problemWith(form) {
    var input = form.querySelector("input[type=file]");
    var box = form.querySelector("#id_evidence_problem");
    if (!input || !box || !form.hasAttribute("data-max-file")) {
      return "";
    }
    var maxFile = Number(form.getAttribute("data-max-file"));
    var maxReport = Number(form.getAttribute("data-max-report"));
    var total = 0;
    var files = Array.prototype.slice.call(input.files || []);
    for (var i = 0; i < files.length; i += 1) {
      total += files[i].size;
      if (files[i].size > maxFile) {
        return box.getAttribute("data-too-large").replace("%(name)s", files[i].name);
      }
    }
    if (total > maxReport) {
      return box.getAttribute("data-too-much");
    }
    return "";
  }

  function show(form, problem) {
    var box = form.querySelector("#id_evidence_problem");
    if (!box) {
      return;
    }
    // Her file's name is text, never markup.
    box.textContent = problem;
    box.hidden = !problem;
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-max-file], form[data-sending]"), function (form) {
    var input = form.querySelector("input[type=file]");
    if (input) {
      input.addEventListener("change", function () {
        show(form, problemWith(form));
      });
    }
    form.addEventListener("submit", function (event) {
      var problem = problemWith(form);
      show(form, problem);
      if (problem) {
        event.preventDefault();
        form.querySelector("input[type=file]").focus();
        return;
      }
      if (form.getAttribute("aria-busy") === "true") {
        event.preventDefault();
        return;
      }
      var sending = form.getAttribute("data-sending");
      if (!sending) {
        return;
      }
      form.setAttribute("aria-busy", "true");
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.setAttribute("data-label", button.textContent);
        button.textContent = sending;
        // Disabled after this event: a disabled button would not send the form.
        window.setTimeout(function () {
          button.disabled = true;
        }, 0);
      }
    });
  });

  // Back to a page kept by the browser: the form may be sent again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) {
      return;
    }
    Array.prototype.forEach.call(document.querySelectorAll("form[aria-busy=true]"), function (form) {
      form.removeAttribute("aria-busy");
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = false;
        button.textContent = button.getAttribute("data-label") || button.textContent;
      }
    });
  });
})();
