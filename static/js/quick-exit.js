// Quick exit: one tap, or the Escape key, leaves for a neutral site.
// Without scripts the control is a plain link to a page of ours that ends her session and
// sends her on.  With them we hide the page at once (a slow phone may take seconds to load
// the next site), end the session with a beacon that does not wait for an answer, and use
// location.replace() so that this page is not left behind in the back-button history.
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
    var ended = false;
    try {
      ended = navigator.sendBeacon(link.href);
    } catch (error) {
      ended = false;
    }
    // A beacon refused (a browser that has none, a full queue): go through our page,
    // which ends the session before sending her on.
    window.location.replace(ended ? link.getAttribute("data-neutral") : link.href);
  }

  link.addEventListener("click", leave);
  document.addEventListener("keydown", function (event) {
    // isComposing: an Arabic or French input method may use Escape to cancel a
    // composition; that keystroke is typing, not a request to leave.
    if (event.key === "Escape" && !event.isComposing) {
      leave(event);
    }
  });
  // A page restored from the back-forward cache must not show what she left.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && document.body.hidden) {
      window.location.reload();
    }
  });
})();
