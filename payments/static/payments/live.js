// Live updates (docs/live.md): one EventSource per page on /live/events. The server says only *what* changed
// (a request's id, "your unread count", or "resync" after it missed something); the page re-reads what it
// shows through the usual permission-checked URLs: the home page's counts (/live/counts), the header's bell
// (payments/unread_notifications.js, told by an "acountee:unread" event), and on a payment request's page a
// banner offering to reload when that request changed. The browser reconnects by itself after a drop.
(function () {
  "use strict";
  var config = document.getElementById("live-updates");
  if (!config || !window.EventSource) {
    return;
  }
  var needsMe = document.getElementById("needs-me");
  var banner = document.getElementById("pr-live-banner");
  var shownPr = banner ? parseInt(banner.dataset.pr, 10) : null;
  var pending = null;

  function refreshCounts() {
    if (!needsMe || !window.fetch) {
      return;
    }
    fetch(config.dataset.countsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (counts) {
        if (!counts) {
          return;
        }
        Object.keys(counts).forEach(function (key) {
          var count = needsMe.querySelector("#needs-me-" + key + " .count");
          if (count) {
            count.textContent = counts[key];
            count.dataset.count = counts[key];
            count.classList.toggle("zero", !counts[key]);
          }
        });
      })
      .catch(function () {});
  }

  function soon() {
    // A bulk approval sends one event per batch; several events in a row re-read the counts once.
    if (pending === null) {
      pending = window.setTimeout(function () {
        pending = null;
        refreshCounts();
      }, 150);
    }
  }

  function unread() {
    document.dispatchEvent(new CustomEvent("acountee:unread"));
  }

  var opened = false;
  var source = null;
  var retryDelay = 5000;

  function connect() {
    source = new EventSource(config.dataset.eventsUrl);
    config.dataset.state = "connecting"; // "open" while the stream is up (tests and curious people read it)
    source.addEventListener("error", function () {
      if (source.readyState !== EventSource.CLOSED) {
        config.dataset.state = "connecting"; // a dropped stream: the browser reconnects by itself
        return;
      }
      // Refused (503 while the database is away; 204 where live updates are not served): the browser gives
      // up, so try again ourselves, less and less often.
      config.dataset.state = "closed";
      window.setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 300000);
    });
    source.addEventListener("open", function () {
      config.dataset.state = "open";
      retryDelay = 5000;
      if (opened) {
        // Reconnected: whatever happened while the stream was down was not heard.
        soon();
        unread();
      }
      opened = true;
    });
    source.addEventListener("pr", function (event) {
      var data = JSON.parse(event.data);
      soon();
      if (banner && data.pr && data.pr.indexOf(shownPr) !== -1) {
        banner.hidden = false;
      }
    });
    source.addEventListener("unread", unread);
    source.addEventListener("resync", function () {
      soon();
      unread();
    });
  }

  connect();
  window.addEventListener("pagehide", function () {
    if (source) {
      source.close();
    }
  });
})();
