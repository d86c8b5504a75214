// The public map: qualified venues from the registry's API, clustered; a list gives the same venues for
// keyboards and screen readers. No inline script, no CDN.
(function () {
  "use strict";
  var element = document.getElementById("carte");
  var form = document.getElementById("recherche");
  var list = document.getElementById("lieux");
  var status = document.getElementById("statut");
  var communeInput = document.getElementById("commune");
  var options = document.getElementById("communes");
  var found = {};  // datalist label -> territory

  var map = L.map(element, { zoomControl: false }).setView([46.6, 2.4], 6);
  L.control.zoom({ zoomInTitle: "Zoomer", zoomOutTitle: "Dézoomer" }).addTo(map);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com" hreflang="en">Leaflet</a>');
  L.tileLayer(element.dataset.tiles, { maxZoom: 18, attribution: element.dataset.attribution }).addTo(map);
  var cluster = L.markerClusterGroup();
  map.addLayer(cluster);

  function text(tag, content, className) {
    var node = document.createElement(tag);
    node.textContent = content;
    if (className) { node.className = className; }
    return node;
  }

  function card(feature) {
    var p = feature.properties;
    var item = document.createElement("li");
    item.className = "venue-card";
    var heading = document.createElement("h2");
    var page = text("a", p.nom);
    page.href = element.dataset.venues + feature.id;
    heading.appendChild(page);
    item.appendChild(heading);
    item.appendChild(text("p", p.adresse + ", " + p.code_postal + " " + p.commune));
    if (p.distance_m !== undefined) {
      item.appendChild(text("p", "À " + (p.distance_m / 1000).toFixed(1).replace(".", ",") + " km"));
    }
    if (p.ouvert_maintenant === true) { item.appendChild(text("p", "Ouvert maintenant", "open")); }
    if (p.ouvert_maintenant === false) { item.appendChild(text("p", "Fermé en ce moment", "closed")); }
    if (p.horaires_texte || p.horaires) { item.appendChild(text("p", "Horaires : " + (p.horaires_texte || p.horaires))); }
    if (p.services && p.services.length) { item.appendChild(text("p", "Services : " + p.services.join(", "))); }
    if (p.frais_a_charge && p.frais_a_charge.length) { item.appendChild(text("p", "Frais : " + p.frais_a_charge.join(", "))); }
    if (p.telephone) { item.appendChild(text("p", "Téléphone : " + p.telephone)); }
    if (p.position_precision === "commune") {
      item.appendChild(text("p", "Position approximative : le lieu est placé au centre de sa commune.", "approximate"));
    }
    if (feature.geometry && p.position_precision !== "commune") {
      var c = feature.geometry.coordinates;
      var link = text("a", "Itinéraire vers " + p.nom);
      link.href = "https://www.openstreetmap.org/directions?to=" + c[1] + "%2C" + c[0];
      link.rel = "noopener";
      item.appendChild(link);
    }
    return item;
  }

  function show(collection) {
    cluster.clearLayers();
    list.replaceChildren();
    var points = [];
    collection.features.forEach(function (feature) {
      list.appendChild(card(feature));
      if (!feature.geometry) { return; }
      var c = feature.geometry.coordinates;
      var approximate = feature.properties.position_precision === "commune";
      var name = feature.properties.nom + (approximate ? " (position approximative)" : "");
      // A venue placed at its commune's point is drawn faded and named as approximate (still a keyboard-reachable
      // marker).
      var marker = L.marker([c[1], c[0]], { title: name, alt: name, opacity: approximate ? 0.55 : 1 });
      marker.bindPopup(card(feature));
      cluster.addLayer(marker);
      points.push([c[1], c[0]]);
    });
    if (points.length) { map.fitBounds(points, { maxZoom: 13, padding: [20, 20] }); }
    var n = collection.numberMatched === undefined ? collection.numberReturned : collection.numberMatched;
    status.textContent = n === 0 ? "Aucun lieu ne correspond." :
      n + (n > 1 ? " lieux trouvés" : " lieu trouvé") + (n > collection.numberReturned ?
        " (les " + collection.numberReturned + " premiers sont affichés)" : "") + ".";
  }

  function search() {
    var params = new URLSearchParams({ per_page: "100" });
    ["services", "accompaniment", "fees"].forEach(function (name) {
      var value = form.elements[name].value;
      if (value) { params.append(name, value); }
    });
    if (form.elements.open_now.checked) { params.set("open_now", "true"); }
    var territory = found[communeInput.value];
    var typed = communeInput.value.trim();
    var place = Promise.resolve(null);
    if (territory && territory.center) {
      place = Promise.resolve({ lon: territory.center[0], lat: territory.center[1] });
    } else if (territory) {
      params.set("territory", "commune:" + territory.code);
    } else if (typed.length >= 3) {
      // Not a commune of the list: an address, placed by the geocoding plugin when one is configured.
      place = fetch(element.dataset.geocode + "?" + new URLSearchParams({ q: typed, limit: "1" }))
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (places) { return places.length ? places[0] : null; });
    }
    status.textContent = "Recherche…";
    place.then(function (point) {
      if (point) {
        params.set("near", point.lon + "," + point.lat);
        params.set("radius_km", "30");
      }
      return fetch(element.dataset.api + "?" + params.toString(), { headers: { Accept: "application/geo+json" } });
    })
      .then(function (response) { return response.json(); })
      .then(show)
      .catch(function () { status.textContent = "La recherche a échoué : réessayez."; });
  }

  communeInput.addEventListener("input", function () {
    var q = communeInput.value.trim();
    if (q.length < 2 || found[communeInput.value]) { return; }
    fetch(element.dataset.territories + "?" + new URLSearchParams({ q: q, kind: "commune", limit: "8" }))
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (territories) {
        options.replaceChildren();
        territories.forEach(function (t) {
          var label = t.name + " (" + t.code + ")";
          found[label] = t;
          var option = document.createElement("option");
          option.value = label;
          options.appendChild(option);
        });
      });
  });

  form.addEventListener("submit", function (event) { event.preventDefault(); search(); });
  search();
})();
