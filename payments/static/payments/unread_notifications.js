// The header's unread-notification indicator (payments/templates/admin/unread_notifications.html): the count
// comes from the notifications API with the page's own session, so rendering a page costs no query. Re-read every
// 30 seconds, and at once when the live stream says the count changed (payments/live.js).
(function () {
  "use strict";
  var link = document.getElementById("unread-notifications");
  if (!link || !window.fetch) {
    return;
  }
  var count = link.querySelector(".count");
  function refresh() {
    fetch(link.dataset.countUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data) {
          return;
        }
        var unread = data.unread_count || 0;
        count.textContent = unread;
        link.hidden = unread === 0;
      })
      .catch(function () {});
  }
  refresh();
  window.setInterval(refresh, 30000);
  // payments/live.js: told at once when this user's unread notifications change (docs/live.md).
  document.addEventListener("acountee:unread", refresh);
})();
