// The orientation sheet's « Imprimer » button (no inline script).
(function () {
  "use strict";
  var button = document.getElementById("imprimer");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
})();
