// Shows each deadline in the viewer's own time zone as well, beside the
// label's time the server rendered. Without JavaScript the pages show the
// label's time and UTC, so nothing depends on this.
(function () {
  "use strict";
  var viewerZone;
  try { viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  var format = new Intl.DateTimeFormat(undefined, {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });

  function annotate(root) {
    var moments = root.querySelectorAll("time[data-zone]:not([data-viewer-done])");
    for (var i = 0; i < moments.length; i++) {
      var el = moments[i];
      el.setAttribute("data-viewer-done", "");
      if (el.getAttribute("data-zone") === viewerZone) continue;
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) continue;
      var note = document.createElement("span");
      note.className = "viewer-time";
      note.textContent = " (your time: " + format.format(when) + ")";
      el.parentNode.insertBefore(note, el.nextSibling);
    }
  }

  function start() {
    annotate(document);
    // Live updates replace fragments; annotate what they bring in.
    new MutationObserver(function () { annotate(document); })
      .observe(document.body, { childList: true, subtree: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
