// Quick exit: one tap, or the Escape key, leaves for a neutral site.
// Without scripts the control is still a plain link; with them we also hide the page at
// once (a slow phone may take seconds to load the next site) and use location.replace()
// so that this page is not left behind in the back-button history.
(function () {
  "use strict";
  var link = document.querySelector("[data-quick-exit]");
  if (!link) {
    return;
  }
  document.documentElement.classList.add("has-js");

  function leave(event) {
    if (event) {
      event.preventDefault();
    }
    document.title = "";
    document.body.hidden = true;
    window.location.replace(link.href);
  }

  link.addEventListener("click", leave);
  document.addEventListener("keydown", function (event) {
    // isComposing: an Arabic or French input method may use Escape to cancel a
    // composition; that keystroke is typing, not a request to leave.
    if (event.key === "Escape" && !event.isComposing) {
      leave(event);
    }
  });
})();
