// The OGC API's HTML pages: a small map of the page's features, read from the same resource in GeoJSON.
(function () {
  "use strict";
  var element = document.getElementById("carte-ogc");
  if (!element || !window.L) { return; }
  var map = L.map(element, { zoomControl: false }).setView([46.6, 2.4], 5);
  L.control.zoom({ zoomInTitle: "Zoomer", zoomOutTitle: "Dézoomer" }).addTo(map);
  L.tileLayer(element.dataset.tiles, { maxZoom: 18, attribution: element.dataset.attribution }).addTo(map);
  fetch(element.dataset.features, { headers: { Accept: "application/geo+json" } })
    .then(function (response) { return response.json(); })
    .then(function (data) {
      var layer = L.geoJSON(data, {
        pointToLayer: function (feature, latlng) {
          // A DOM node, not a string: Leaflet reads a string as HTML (a venue's name is data, shown as text).
          var name = document.createElement("span");
          name.textContent = feature.properties.nom || "";
          return L.circleMarker(latlng, { radius: 6, color: "#000091", fillOpacity: 0.8 }).bindTooltip(name);
        }
      }).addTo(map);
      if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds(), { maxZoom: 14, padding: [20, 20] }); }
    });
})();
