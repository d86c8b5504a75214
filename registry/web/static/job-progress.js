// While a job waits or runs (a campaign's sending, France's coverage), its progress refreshes itself every few
// seconds: the page is read again and the parts marked data-job-refresh are replaced (the callout is a polite
// live region). Once the job is over, a page that waited for its result (data-job-reload) loads it.
(function () {
  "use strict";
  var job = document.querySelector("[data-job-state]");
  if (!job || ["queued", "running"].indexOf(job.getAttribute("data-job-state")) < 0 || !window.fetch) {
    return;
  }
  function refresh() {
    fetch(window.location.href, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (response) { return response.text(); })
      .then(function (text) {
        var page = new DOMParser().parseFromString(text, "text/html");
        var state = page.querySelector("[data-job-state]");
        var over = !state || ["queued", "running"].indexOf(state.getAttribute("data-job-state")) < 0;
        if (over && document.querySelector("[data-job-reload]")) {
          window.location.reload();
          return;
        }
        document.querySelectorAll("[data-job-refresh]").forEach(function (part) {
          var fresh = part.id && page.getElementById(part.id);
          if (fresh) { part.replaceWith(fresh); }
        });
        if (!over) { window.setTimeout(refresh, 3000); }
      })
      .catch(function () { window.setTimeout(refresh, 10000); });
  }
  window.setTimeout(refresh, 3000);
})();
