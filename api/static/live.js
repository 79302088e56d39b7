// Countersign live updates: every element with data-live="<url>" is refreshed
// from that fragment URL every few seconds while the tab is visible. Without
// JavaScript the pages are complete as served; this only keeps them fresh.
// No inline code, no eval: it runs under the CSP's script-src 'self'.
(function () {
  "use strict";
  var EVERY_MS = 5000;

  function busy(region) {
    // Never swap content out from under someone using it.
    var active = document.activeElement;
    return active && active !== document.body && region.contains(active);
  }

  function text(node) {
    // A moment shown in the viewer's time (localtime.js) counts by its value, not by how it reads.
    var copy = node.cloneNode(true);
    copy.querySelectorAll("time[data-viewer]").forEach(function (el) { el.textContent = el.getAttribute("datetime"); });
    return (copy.textContent || "").replace(/\s+/g, " ").trim();
  }

  function announce(region) {
    // One short polite message for screen readers, not the whole region read out again.
    var note = document.getElementById("live-note");
    if (!note) return;
    note.textContent = "";
    setTimeout(function () {
      note.textContent = region.getAttribute("data-live-label") || "This page was updated.";
    }, 50);
  }

  function refresh(region) {
    if (document.hidden || busy(region)) return;
    fetch(region.getAttribute("data-live"), {
      credentials: "same-origin",
      headers: { "X-Requested-With": "live" },
      redirect: "manual"
    }).then(function (response) {
      if (!response.ok) return null;
      var count = response.headers.get("X-Inbox-Count");
      if (count !== null) {
        document.querySelectorAll("[data-inbox-count]").forEach(function (el) {
          el.textContent = count;
          el.classList.toggle("count-due", count !== "0");
        });
      }
      return response.text();
    }).then(function (html) {
      if (html === null || html === undefined || busy(region)) return;
      var template = document.createElement("template");
      template.innerHTML = html;
      if (text(template.content) === text(region)) return;  // nothing a reader would see has changed
      // Folded parts stay as the reader left them.
      var open = Array.prototype.map.call(region.querySelectorAll("details"), function (d) { return d.open; });
      var incoming = template.content.querySelectorAll("details");
      if (incoming.length === open.length) incoming.forEach(function (d, i) { d.open = open[i]; });
      region.replaceChildren(template.content);
      region.setAttribute("data-live-updated", new Date().toISOString());
      announce(region);
    }).catch(function () { /* offline for a moment: try again next time */ });
  }

  function start() {
    var regions = document.querySelectorAll("[data-live]");
    regions.forEach(function (region) {
      setInterval(function () { refresh(region); }, EVERY_MS);
    });
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) regions.forEach(refresh);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
