// Starts Swagger UI on the page's OpenAPI document (no inline script, no CDN).
(function () {
  var target = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: target.dataset.specUrl, domNode: target, deepLinking: true });
})();
