// The public map: qualified venues from the registry's API. As the map moves, it shows what its view holds
// (the venues themselves when they are few, clusters computed by the server otherwise); a search from a commune,
// a postcode or an address lists the nearest venues with their distance, however far. A list gives the same
// venues for keyboards and screen readers; the search lives in the URL. No inline script, no CDN.
(function () {
  "use strict";
  var element = document.getElementById("carte");
  var form = document.getElementById("recherche");
  var list = document.getElementById("lieux");
  var status = document.getElementById("statut");
  var communeInput = document.getElementById("commune");
  var options = document.getElementById("communes");
  var showView = document.getElementById("zone-visible");
  var found = {};  // datalist label -> territory
  var FILTERS = ["services", "publics", "access", "support", "accompaniment", "fees", "day", "slot"];
  var mode = "view";  // "view": what the map shows; "place": the nearest venues of a searched place
  var quiet = false;  // the map moves because of us: no reload
  var fitFirst = Boolean(element.dataset.territory);
  var embedded = Boolean(element.dataset.embedded);  // in another site's frame: pages open outside it
  var more = document.getElementById("plus-de-criteres");
  var sheetLink = document.getElementById("lien-fiche");

  var map = L.map(element, { zoomControl: false }).setView([46.6, 2.4], 6);
  if (element.dataset.bounds) {  // a preset territory's extent: the map opens on it, venues or not
    var box = element.dataset.bounds.split(",").map(Number);
    map.fitBounds([[box[1], box[0]], [box[3], box[2]]], { maxZoom: 13 });
    fitFirst = false;
  }
  L.control.zoom({ zoomInTitle: "Zoomer", zoomOutTitle: "Dézoomer" }).addTo(map);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com" hreflang="en">Leaflet</a>');
  var tiles = L.tileLayer(element.dataset.tiles, { maxZoom: 18, attribution: element.dataset.attribution }).addTo(map);
  var failures = 0;
  tiles.on("tileerror", function () {
    failures += 1;
    if (failures === 4) {  // no base map: say so, and draw the départements so that markers keep their context
      element.classList.add("tiles-failed");
      var note = document.getElementById("fond-absent");
      if (note) { note.hidden = false; }
      fetch(element.dataset.outline).then(function (response) { return response.json(); }).then(function (outline) {
        L.geoJSON(outline, { interactive: false,
                             style: { color: "#7b7b7b", weight: 1, fillColor: "#f6f6f6", fillOpacity: 1 } })
          .addTo(map).bringToBack();
      });
    }
  });
  // Individual venues are grouped by leaflet.markercluster, loaded the first time venues are drawn one by one
  // (the national view draws the server's clusters and never needs it).
  var cluster = null, clusterLoading = null, drawn = 0;
  function markerGroup() {
    if (!clusterLoading) {
      clusterLoading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = element.dataset.markercluster;
        script.onload = function () { cluster = L.markerClusterGroup(); map.addLayer(cluster); resolve(cluster); };
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return clusterLoading;
  }
  var clusters = L.layerGroup();
  var searched = L.layerGroup();
  map.addLayer(clusters);
  map.addLayer(searched);

  function text(tag, content, className) {
    var node = document.createElement(tag);
    node.textContent = content;
    if (className) { node.className = className; }
    return node;
  }

  function km(metres) {
    return (metres / 1000).toFixed(metres < 10000 ? 1 : 0).replace(".", ",") + " km";
  }

  function outside(link) {  // a link of the embedded map opens a new window, never inside the frame
    if (embedded) {
      link.target = "_blank";
      link.rel = "noopener";
      link.title = link.textContent + " (nouvelle fenêtre)";
    }
    return link;
  }

  // A venue as a list item, or as a popup's content (a block, without a list's bullet).
  function card(feature, tag) {
    var p = feature.properties;
    var item = document.createElement(tag || "li");
    item.className = tag ? "venue-popup" : "venue-card";
    var heading = document.createElement("h2");
    var page = outside(text("a", p.nom));
    page.href = element.dataset.venues + feature.id;
    heading.appendChild(page);
    item.appendChild(heading);
    item.appendChild(text("p", p.adresse + ", " + p.code_postal + " " + p.commune));
    if (p.distance_m !== undefined) { item.appendChild(text("p", "À " + km(p.distance_m))); }
    if (p.jour_texte) {  // a day was asked for: that day's answer, not this moment's
      item.appendChild(text("p", p.jour_texte, p.jour_texte.indexOf("Ouvert") === 0 ? "open" : "closed"));
    } else if (p.ouvert_maintenant === true) {
      item.appendChild(text("p", "Ouvert maintenant", "open"));
    } else if (p.ouvert_maintenant === false) {
      item.appendChild(text("p", "Fermé en ce moment", "closed"));
    }
    (p.fermetures_texte || []).forEach(function (notice) { item.appendChild(text("p", notice, "closure")); });
    if (p.horaires_texte || p.horaires) { item.appendChild(text("p", "Horaires : " + (p.horaires_texte || p.horaires))); }
    if (p.services && p.services.length) { item.appendChild(text("p", "Services : " + p.services.join(", "))); }
    if (p.frais_a_charge && p.frais_a_charge.length) { item.appendChild(text("p", "Frais : " + p.frais_a_charge.join(", "))); }
    if (p.telephone) {
      var phone = text("a", p.telephone_texte || p.telephone);
      phone.href = "tel:" + p.telephone;
      var line = text("p", "Téléphone : ");
      line.appendChild(phone);
      item.appendChild(line);
    }
    if (p.position_precision === "commune") {
      item.appendChild(text("p", "Position approximative : le lieu est placé au centre de sa commune.", "approximate"));
    }
    if (feature.geometry && p.position_precision !== "commune") {
      var c = feature.geometry.coordinates;
      var link = outside(text("a", "Itinéraire vers " + p.nom));
      link.href = "https://www.openstreetmap.org/directions?to=" + c[1] + "%2C" + c[0];
      link.rel = "noopener";
      item.appendChild(link);
    }
    return item;
  }

  function clear() {
    drawn += 1;  // markers of an earlier search still waiting for the library are dropped
    if (cluster) { cluster.clearLayers(); }
    clusters.clearLayers();
    list.replaceChildren();
  }

  function drawVenues(collection) {
    var points = [], markers = [], generation = drawn;
    collection.features.forEach(function (feature) {
      list.appendChild(card(feature));
      if (!feature.geometry) { return; }
      var c = feature.geometry.coordinates;
      var approximate = feature.properties.position_precision === "commune";
      var name = feature.properties.nom + (approximate ? " (position approximative)" : "");
      // A venue placed at its commune's point is drawn faded and named as approximate.
      var marker = L.marker([c[1], c[0]], { title: name, alt: name, opacity: approximate ? 0.55 : 1 });
      marker.bindPopup(card(feature, "div"), { maxWidth: Math.min(300, element.clientWidth - 60), keepInView: true,
                                               autoPanPadding: [10, 10] });
      markers.push(marker);
      points.push([c[1], c[0]]);
    });
    if (markers.length) {
      markerGroup().then(function (group) { if (generation === drawn) { group.addLayers(markers); } });
    }
    return points;
  }

  function drawClusters(collection) {
    collection.features.forEach(function (feature) {
      var c = feature.geometry.coordinates;
      var count = feature.properties.count;
      var box = feature.properties.bbox;
      var name = count + " lieux ici : zoomer sur ce groupe";
      var size = count < 10 ? 34 : count < 100 ? 40 : count < 1000 ? 48 : 56;
      var marker = L.marker([c[1], c[0]], {
        keyboard: true, title: name,
        icon: L.divIcon({ className: "server-cluster", html: text("span", Number(count).toLocaleString("fr-FR")),
                          iconSize: [size, size] })
      });
      marker.on("click", function () { map.fitBounds([[box[1], box[0]], [box[3], box[2]]], { maxZoom: 14, padding: [30, 30] }); });
      marker.on("add", function () {
        var icon = marker.getElement();
        if (icon) { icon.setAttribute("aria-label", name); icon.setAttribute("role", "button"); }
      });
      clusters.addLayer(marker);
    });
    list.appendChild(text("li", collection.numberMatched.toLocaleString("fr-FR") + " lieux dans la zone visible : " +
      "zoomez sur un groupe ou cherchez une commune pour les voir un par un.", "venue-card"));
  }

  function filters() {
    var params = new URLSearchParams();
    ["territory", "label"].forEach(function (name) {  // an embedded map's presets
      if (element.dataset[name]) { params.set(name, element.dataset[name]); }
    });
    FILTERS.forEach(function (name) {
      var value = form.elements[name].value;
      if (value) { params.append(name, value); }
    });
    if (form.elements.open_now.checked) { params.set("open_now", "true"); }
    return params;
  }

  function loadView() {
    mode = "view";
    showView.hidden = true;
    searched.clearLayers();
    var params = filters();
    var b = map.getBounds();
    params.set("bbox", [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) {
      return Math.max(-180, Math.min(180, v)).toFixed(5);
    }).join(","));
    params.set("zoom", String(map.getZoom()));
    status.textContent = "Chargement des lieux de la zone…";
    fetch(element.dataset.map + "?" + params.toString())
      .then(function (response) { return response.json(); })
      .then(function (collection) {
        if (mode !== "view") { return; }
        clear();
        var n = collection.numberMatched;
        if (collection.clustered) { drawClusters(collection); } else { drawVenues(collection); }
        if (fitFirst && collection.features.length) {  // a preset territory: show all of it once
          fitFirst = false;
          var bounds = L.latLngBounds([]);
          collection.features.forEach(function (f) {
            var box = f.properties.bbox;
            var c = f.geometry && f.geometry.coordinates;
            if (box) { bounds.extend([[box[1], box[0]], [box[3], box[2]]]); } else if (c) { bounds.extend([c[1], c[0]]); }
          });
          if (bounds.isValid()) { map.fitBounds(bounds, { maxZoom: 13, padding: [30, 30] }); }
        }
        status.textContent = n === 0 ? "Aucun lieu dans la zone visible : dézoomez ou déplacez la carte." :
          n.toLocaleString("fr-FR") + (n > 1 ? " lieux trouvés" : " lieu trouvé") + " dans la zone visible.";
      })
      .catch(function () { status.textContent = "Le chargement des lieux a échoué : réessayez."; });
  }

  function resolvePlace(typed) {
    var territory = found[typed];
    if (territory) { return Promise.resolve(territory); }
    return fetch(element.dataset.territories + "?" + new URLSearchParams({ q: typed, kind: "commune", limit: "1" }))
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (territories) {
        if (territories.length) { return territories[0]; }
        // Not a commune: an address, placed by the geocoding plugin when one is configured.
        return fetch(element.dataset.geocode + "?" + new URLSearchParams({ q: typed, limit: "1" }))
          .then(function (response) { return response.ok ? response.json() : []; })
          .then(function (places) {
            return places.length ? { name: places[0].label, center: [places[0].lon, places[0].lat] } :
              communeOf(typed);
          });
      });
  }

  // No geocoder, or an address it cannot place: the commune its last words name (« 2 avenue Victor Hugo Rodez »
  // → Rodez), said so in the status. At most three look-ups.
  function communeOf(typed) {
    var words = typed.replace(/,/g, " ").split(/\s+/).filter(Boolean);
    function attempt(size) {
      if (size > 3 || size >= words.length) { return Promise.resolve(null); }
      var tail = words.slice(words.length - size).join(" ");
      return fetch(element.dataset.territories + "?" + new URLSearchParams({ q: tail, kind: "commune", limit: "1" }))
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (territories) {
          var t = territories[0];
          if (!t || !t.center) { return attempt(size + 1); }
          return { name: t.name + " (" + t.code + ")", center: t.center,
                   fallback: "Adresse non localisée : recherche autour de la commune " + t.name + ". " };
        });
    }
    return attempt(1);
  }

  function searchPlace(typed, given) {
    mode = "place";
    status.textContent = "Recherche…";
    (given ? Promise.resolve(given) : resolvePlace(typed)).then(function (place) {
      if (!place || !place.center) {
        clear();
        searched.clearLayers();
        status.textContent = "Aucune commune ni adresse ne correspond à « " + typed + " » : vérifiez l'orthographe " +
          "ou essayez un code postal.";
        return null;
      }
      searched.clearLayers();
      var params = filters();
      params.set("near", place.center[0] + "," + place.center[1]);
      params.set("per_page", "20");
      var radius = form.elements.radius_km.value;
      if (radius) {
        params.set("radius_km", radius);
        L.circle([place.center[1], place.center[0]], { radius: Number(radius) * 1000, color: "#000091", weight: 1,
                                                       fillOpacity: 0.05, interactive: false }).addTo(searched);
      }
      return fetch(element.dataset.api + "?" + params.toString(), { headers: { Accept: "application/geo+json" } })
        .then(function (response) { return response.json(); })
        .then(function (collection) {
          clear();
          L.circleMarker([place.center[1], place.center[0]], { radius: 8, color: "#000091", fillOpacity: 0.8 })
            .bindTooltip(text("span", place.name)).addTo(searched);  // a node: Leaflet reads a string as HTML
          var points = drawVenues(collection);
          points.push([place.center[1], place.center[0]]);
          quiet = true;
          map.fitBounds(points, { maxZoom: 13, padding: [30, 30] });
          quiet = false;
          var n = collection.numberReturned;
          var nearest = n ? collection.features[0].properties.distance_m : null;
          status.textContent = (place.fallback || "") + (n === 0 ? "Aucun lieu ne correspond à ces critères" +
            (radius ? " dans un rayon de " + radius + " km : élargissez le rayon." : ".") :
            (n > 1 ? "Les " + n + " lieux trouvés les plus proches" : "1 lieu trouvé") + " de " + place.name +
            " ; le plus proche est à " + km(nearest) + ".");
          showView.hidden = false;
        });
    }).catch(function () { status.textContent = "La recherche a échoué : réessayez."; });
  }

  function run() {
    var typed = communeInput.value.trim();
    if (typed) { searchPlace(typed); } else { loadView(); }
  }

  function toUrl(push) {
    var params = filters();
    if (communeInput.value.trim()) { params.set("lieu", communeInput.value.trim()); }
    if (form.elements.radius_km.value) { params.set("rayon", form.elements.radius_km.value); }
    var url = location.pathname + (params.toString() ? "?" + params.toString() : "");
    sheetPreset();
    if (push) { history.pushState(null, "", url); } else { history.replaceState(null, "", url); }
  }

  function fromUrl() {
    var params = new URLSearchParams(location.search);
    communeInput.value = params.get("lieu") || "";
    FILTERS.forEach(function (name) { form.elements[name].value = params.get(name) || ""; });
    form.elements.open_now.checked = params.get("open_now") === "true";
    form.elements.radius_km.value = params.get("rayon") || "";
    var folded = Array.prototype.some.call(more.querySelectorAll("select, input"), function (field) {
      return field.type === "checkbox" ? field.checked : field.value;
    });
    if (folded) { more.open = true; }  // a criterion given in the URL is shown
    sheetPreset();
  }

  function sheetPreset() {  // the orientation sheet keeps the commune searched on the map
    if (!sheetLink) { return; }
    var typed = communeInput.value.trim();
    sheetLink.href = sheetLink.pathname + (typed ? "?" + new URLSearchParams({ lieu: typed }).toString() : "");
  }

  var pause = null;
  communeInput.addEventListener("input", function () {
    var q = communeInput.value.trim();
    clearTimeout(pause);
    if (q.length < 2 || found[communeInput.value]) { return; }
    pause = setTimeout(function () {  // wait for a pause in typing
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
    }, 250);
  });

  var moved = null;
  map.on("moveend", function () {
    if (quiet) { return; }
    if (mode === "view") {
      clearTimeout(moved);
      moved = setTimeout(loadView, 200);
    }
  });
  document.getElementById("autour").addEventListener("click", function () {
    if (!navigator.geolocation) { status.textContent = "Votre navigateur ne donne pas votre position."; return; }
    status.textContent = "Recherche de votre position…";
    navigator.geolocation.getCurrentPosition(function (position) {
      communeInput.value = "";
      searchPlace("", { name: "votre position", center: [position.coords.longitude, position.coords.latitude] });
    }, function () { status.textContent = "Position refusée ou indisponible : indiquez une commune."; },
    { timeout: 10000 });
  });
  showView.addEventListener("click", function () { communeInput.value = ""; toUrl(true); loadView(); });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    toUrl(true);
    run();
    // On a phone the answer comes first: the status, then the results, brought into view (the map follows them).
    if (!embedded && window.matchMedia("(max-width: 61.99em)").matches) { status.scrollIntoView({ block: "start" }); }
  });
  window.addEventListener("popstate", function () { fromUrl(); run(); });
  fromUrl();
  run();
})();
