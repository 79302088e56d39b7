// Shows each deadline once, in the viewer's own time zone: a <time
// data-viewer> rendered by the server in the label's time (which stays in its
// title and in the screen reader's text) is rewritten to the viewer's time.
// Without JavaScript the pages show the label's time, so nothing depends on this.
(function () {
  "use strict";
  var format;
  try {
    format = new Intl.DateTimeFormat(undefined, {
      weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
      timeZoneName: "short"
    });
  } catch (e) { return; }

  function localise(root) {
    var moments = root.querySelectorAll("time[data-viewer]:not([data-viewer-done])");
    for (var i = 0; i < moments.length; i++) {
      var el = moments[i];
      el.setAttribute("data-viewer-done", "");
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) continue;
      el.textContent = format.format(when);
    }
  }

  function start() {
    localise(document);
    // Live updates replace fragments; localise what they bring in.
    new MutationObserver(function () { localise(document); })
      .observe(document.body, { childList: true, subtree: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
