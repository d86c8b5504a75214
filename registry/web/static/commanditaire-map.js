// The commanditaire's map: the venues accepting the programme's passes and those that redeemed some, from the
// dashboard's JSON endpoint; a marker's size says how many passes it took. Text only in the DOM (no HTML built
// from data); the same venues are in the table « Par lieu ». No inline script, no CDN.
(function () {
  "use strict";
  var element = document.getElementById("carte-usage");
  var status = document.getElementById("carte-statut");
  if (!element || typeof L === "undefined") { return; }
  var map = L.map(element).setView([46.6, 2.4], 6);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com" hreflang="en">Leaflet</a>');
  if (element.dataset.tiles) {
    L.tileLayer(element.dataset.tiles, { maxZoom: 18, attribution: element.dataset.attribution }).addTo(map);
  }
  fetch(element.dataset.url, { credentials: "same-origin" })
    .then(function (response) { return response.ok ? response.json() : { features: [] }; })
    .then(function (data) {
      var bounds = [];
      data.features.forEach(function (feature) {
        var p = feature.properties;
        var at = [feature.geometry.coordinates[1], feature.geometry.coordinates[0]];
        var marker = L.circleMarker(at, {
          radius: 5 + Math.min(15, Math.sqrt(p.passes)), weight: 2,
          color: p.accepting ? "#000091" : "#666666", fillOpacity: 0.5
        }).addTo(map);
        var text = document.createElement("span");
        text.textContent = p.nom + (p.commune ? " (" + p.commune + ")" : "") + " : " +
          p.passes.toLocaleString("fr-FR") + " pass utilisé" + (p.passes > 1 ? "s" : "") +
          (p.accepting ? "" : " ; n'accepte plus le pass");
        marker.bindTooltip(text);
        bounds.push(at);
      });
      if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 12 }); }
      status.textContent = data.features.length.toLocaleString("fr-FR") + " lieu" +
        (data.features.length > 1 ? "x" : "") + " sur la carte.";
    })
    .catch(function () { status.textContent = "La carte n'a pas pu être chargée : voyez le tableau « Par lieu »."; });
}());
