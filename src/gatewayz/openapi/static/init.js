// The reference page: Swagger UI on the gateway's own document, with nothing fetched
// from elsewhere (no validator badge; the page's Content-Security-Policy forbids it).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  defaultModelsExpandDepth: 0,
});
