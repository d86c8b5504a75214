// Tables and territory fields of the collectivités' and operators' pages, enhanced: territory suggestions as
// one types (after a pause), tables sorted and filtered in place when the whole table is on the page. Without
// JavaScript the same links and forms ask the server, which sorts, filters and pages the same way.
(function () {
  "use strict";
  var KINDS = { commune: "commune", epci: "EPCI", departement: "département", region: "région" };

  var input = document.getElementById("territoire");
  if (input) {
    var options = document.getElementById("territoires");
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var text = input.value.trim();
      if (text.length < 2 || /\)$/.test(text)) { return; }  // a suggestion picked: nothing more to suggest
      timer = setTimeout(function () {
        fetch(input.dataset.suggestions + "?limit=8&q=" + encodeURIComponent(text))
          .then(function (response) { return response.ok ? response.json() : []; })
          .then(function (found) {
            options.replaceChildren.apply(options, found.map(function (territory) {
              var option = document.createElement("option");
              option.value = territory.name + " (" + KINDS[territory.kind] + " " + territory.code + ")";
              return option;
            }));
          });
      }, 250);
    });
  }

  // « Saint-Affrique », « st affrique » and « SAINT AFFRIQUE » read the same (as the server's place_key).
  function key(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[-'’]/g, " ")
      .split(/\s+/).filter(Boolean).map(function (word) { return word === "st" ? "saint" : word === "ste" ? "sainte" : word; })
      .join(" ");
  }

  function value(row, index) {
    var raw = row.cells[index] ? row.cells[index].dataset.value : undefined;
    if (raw === undefined || raw === "") { return null; }
    var number = Number(raw);
    return isNaN(number) ? raw : number;
  }

  function sortRows(table, index, descending) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, index), y = value(b, index);
      if (x === null || y === null) { return x === y ? 0 : x === null ? 1 : -1; }  // unknown values last
      var order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), "fr");
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function mark(table, sortedTh, descending) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      if (th === sortedTh) { th.setAttribute("aria-sort", descending ? "descending" : "ascending"); }
      else { th.removeAttribute("aria-sort"); }
      var arrow = th.querySelector("span[aria-hidden]");
      if (arrow) { arrow.remove(); }
    });
    var control = sortedTh.querySelector("a, button");
    var arrowSpan = document.createElement("span");
    arrowSpan.setAttribute("aria-hidden", "true");
    arrowSpan.textContent = descending ? " ▼" : " ▲";
    control.appendChild(arrowSpan);
  }

  var status = document.getElementById("communes-statut");
  function visibleCount(table) {
    return Array.prototype.filter.call(table.tBodies[0].rows, function (row) { return !row.hidden; }).length;
  }
  function announce(table, label, descending) {
    if (!status || table.id !== "table-communes") { return; }
    var count = visibleCount(table);
    status.textContent = count.toLocaleString("fr-FR") + " commune" + (count > 1 ? "s" : "") +
      (label ? ", triées par " + label.toLowerCase() + (descending ? ", ordre décroissant" : "") : "") + ".";
  }

  document.querySelectorAll("table[data-sortable]").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      var link = th.querySelector("a[data-sort]");
      var label = (link ? link.firstChild.textContent : th.textContent).trim();
      if (link) {  // the server's sorting link: sorted here instead, the address kept for sharing
        link.addEventListener("click", function (event) {
          event.preventDefault();
          var url = new URL(link.href);
          var descending = url.searchParams.get("ordre") === "desc";
          sortRows(table, index, descending);
          mark(table, th, descending);
          history.replaceState(null, "", url.toString());
          url.searchParams.set("ordre", descending ? "asc" : "desc");
          link.href = url.toString();
          link.querySelector(".fr-sr-only").textContent =
            " : trier " + (descending ? "par ordre croissant" : "par ordre décroissant");
          announce(table, label, descending);
        });
        return;
      }
      if (!Array.prototype.some.call(table.tBodies[0].rows, function (row) { return value(row, index) !== null; })) {
        return;  // nothing to sort by in this column
      }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort-button";
      button.textContent = label;
      var hint = document.createElement("span");
      hint.className = "fr-sr-only";
      hint.textContent = " : trier par ordre décroissant";
      button.appendChild(hint);
      th.replaceChildren(button);
      var descending = false;
      button.addEventListener("click", function () {
        descending = !descending;
        sortRows(table, index, descending);
        mark(table, th, descending);
        hint.textContent = " : trier " + (descending ? "par ordre croissant" : "par ordre décroissant");
      });
    });
  });

  // The communes' filter, applied as one types when the whole table is here (else the form asks the server).
  var table = document.getElementById("table-communes");
  var form = document.getElementById("filtre-communes");
  if (table && form && table.hasAttribute("data-sortable")) {
    var name = form.elements.nom, beyond = form.elements.au_dela;
    var filter = function () {
      var wanted = key(name.value.trim()), limit = beyond.value ? Number(beyond.value) * 1000 : null;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        if (row.cells.length < 3) { return; }
        var distance = value(row, 2);
        row.hidden = (wanted && key(row.cells[0].textContent).indexOf(wanted) < 0) ||
          (limit !== null && (distance === null || distance <= limit));
      });
      announce(table, "", false);
    };
    name.addEventListener("input", filter);
    beyond.addEventListener("change", filter);
  }
})();
