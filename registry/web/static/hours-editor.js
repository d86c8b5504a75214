// The hours field, day by day: for each day, open or not, one or two ranges, « sur rendez-vous »; the editor
// writes the OpenStreetMap rule into the field (which stays, for experts and without JavaScript). Exceptional
// closures have their own fields below. The server reads, checks and reads back whatever the field holds.
(function () {
  "use strict";
  var field = document.getElementById("champ-horaires");
  if (!field) { return; }
  var CODES = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];
  var NAMES = ["Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche"];
  var editor = document.createElement("fieldset");
  editor.className = "fr-fieldset hours-editor";
  editor.id = "horaires-jour-par-jour";
  var legend = document.createElement("legend");
  legend.className = "fr-fieldset__legend fr-text--regular";
  legend.textContent = "Horaires jour par jour (remplissent le champ ci-dessus)";
  editor.appendChild(legend);
  var rows = CODES.map(function (code, index) {
    var row = document.createElement("div");
    row.className = "fr-fieldset__element hours-day";
    function input(kind, label, type) {
      var id = "horaires-" + code + "-" + kind;
      var wrap = document.createElement("span");
      wrap.className = (type === "checkbox" ? "fr-checkbox-group fr-checkbox-group--sm" : "fr-input-group") + " hours-cell";
      var element = document.createElement("input");
      element.type = type;
      element.id = id;
      element.className = type === "time" ? "fr-input" : "";
      var text = document.createElement("label");
      text.className = "fr-label";
      text.htmlFor = id;
      text.textContent = label;
      if (type === "checkbox") { wrap.appendChild(element); wrap.appendChild(text); }
      else { wrap.appendChild(text); wrap.appendChild(element); }
      row.appendChild(wrap);
      element.addEventListener("change", write);
      return element;
    }
    var day = NAMES[index];
    var cells = {
      open: input("ouvert", day + " : ouvert", "checkbox"),
      from1: input("de1", day + ", de", "time"), to1: input("a1", "à", "time"),
      from2: input("de2", "puis de", "time"), to2: input("a2", "à", "time"),
      appointment: input("rdv", "sur rendez-vous", "checkbox")
    };
    editor.appendChild(row);
    return cells;
  });

  function rangeOf(from, to) {
    return from.value && to.value && from.value < to.value ? from.value + "-" + to.value : null;
  }

  function write() {
    var groups = [];
    rows.forEach(function (cells, index) {
      if (!cells.open.checked) { return; }
      var ranges = [rangeOf(cells.from1, cells.to1), rangeOf(cells.from2, cells.to2)].filter(Boolean);
      var rule = (ranges.length ? ranges.join(",") : "open") + (cells.appointment.checked ? ' "sur rendez-vous"' : "");
      if (!ranges.length && !cells.appointment.checked) { return; }
      var last = groups[groups.length - 1];
      if (last && last.rule === rule && last.end === index - 1) { last.end = index; }
      else { groups.push({start: index, end: index, rule: rule}); }
    });
    field.value = groups.map(function (group) {
      var days = group.start === group.end ? CODES[group.start] : CODES[group.start] + "-" + CODES[group.end];
      return days + " " + group.rule;
    }).join("; ");
  }

  // The field's current rule, when it is a simple one, fills the editor (« Mo-Fr 09:00-12:00,14:00-17:00 »).
  field.value.split(";").forEach(function (part) {
    var match = /^\s*([A-Z][a-z])(?:-([A-Z][a-z]))?\s+(open|\d\d:\d\d-\d\d:\d\d(?:,\d\d:\d\d-\d\d:\d\d)?)( "sur rendez-vous")?\s*$/.exec(part);
    if (!match) { return; }
    var start = CODES.indexOf(match[1]), end = match[2] ? CODES.indexOf(match[2]) : start;
    for (var index = start; index >= 0 && index <= end; index++) {
      var cells = rows[index], ranges = match[3] === "open" ? [] : match[3].split(",");
      cells.open.checked = true;
      cells.appointment.checked = Boolean(match[4]);
      [[cells.from1, cells.to1], [cells.from2, cells.to2]].forEach(function (pair, n) {
        if (ranges[n]) { pair[0].value = ranges[n].split("-")[0]; pair[1].value = ranges[n].split("-")[1]; }
      });
    }
  });
  field.closest(".fr-input-group").after(editor);
})();
