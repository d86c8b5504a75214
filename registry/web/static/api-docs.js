// Starts Swagger UI on the page's OpenAPI document (no inline script, no CDN), and corrects what it draws that
// fails the RGAA (axe): an operation's button named by a shorter aria-label than its visible text, parameter lists
// and request bodies without a name, examples that scroll but cannot be reached by keyboard. No deep links: they put a link inside each
// operation's button; no syntax colours: they are too pale on their dark background.
(function () {
  var target = document.getElementById("swagger-ui");

  function fix(root) {
    root.querySelectorAll(".opblock-summary-control[aria-label]").forEach(function (button) {
      button.removeAttribute("aria-label"); // its visible text (method, path, summary) names it
    });
    root.querySelectorAll("tr[data-param-name] select:not([aria-label])").forEach(function (select) {
      select.setAttribute("aria-label", select.closest("tr").dataset.paramName);
    });
    root.querySelectorAll("textarea.body-param__text:not([aria-label])").forEach(function (body) {
      body.setAttribute("aria-label", "Corps de la requête");
    });
    root.querySelectorAll(".microlight:not([tabindex])").forEach(function (example) {
      example.setAttribute("tabindex", "0");
    });
  }

  new MutationObserver(function () { fix(target); }).observe(target, { childList: true, subtree: true });
  window.ui = SwaggerUIBundle({ url: target.dataset.specUrl, domNode: target, deepLinking: false,
                             syntaxHighlight: { activated: false } });
})();
