// Live home page (R-WEB-12): when a run of one of your profiles finishes,
// the page is fetched again and its profile list swapped in, without a
// reload. Without JavaScript or EventSource the page stays as it is.
(function () {
  "use strict";
  if (!document.getElementById("profiles") || !window.EventSource || !window.fetch) return;
  var busy = false;
  var again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        var now = document.getElementById("profiles");
        var fresh = html && new DOMParser().parseFromString(html, "text/html").getElementById("profiles");
        if (now && fresh) now.innerHTML = fresh.innerHTML;
      })
      .catch(function () { /* the next event tries again */ })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }
  new EventSource("/events").addEventListener("run-finished", refresh);
})();
