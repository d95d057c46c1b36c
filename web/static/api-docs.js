// Starts Swagger UI on /api/docs (templates/web/api_docs.html). A file of this site, not an
// inline script, so that the page runs under the same Content-Security-Policy as every page.
(function () {
  var element = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: element.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,  // no badge fetched from the validator's site
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
