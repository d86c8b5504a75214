// After a save or a sent form, the confirmation shown beside what was saved takes the focus, so that
// keyboards continue from there and screen readers read it (a new page's live region is not announced).
(function () {
  "use strict";
  var confirmation = document.querySelector("[data-announce]");
  if (confirmation) {
    confirmation.focus();
    window.addEventListener("load", function () { confirmation.focus(); });  // after the page's own scripts
  }
})();
