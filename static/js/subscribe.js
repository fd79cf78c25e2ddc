// Progressive touches for the signup and preferences forms. Everything
// works without this file: the server validates and the fields are all there.
(function () {
  "use strict";
  var script = document.currentScript;

  // Pre-fill the time zone from the browser, on a fresh signup form only
  // (never over a value the reader saved or already picked).
  if (script && script.hasAttribute("data-detect-timezone")) {
    var select = document.querySelector('select[name="timezone"]');
    try {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (select && zone && select.querySelector('option[value="' + zone.replace(/"/g, "") + '"]')) {
        select.value = zone;
      }
    } catch (e) {
      // Old browser: UTC stays selected and the reader can pick.
    }
  }

  // The day of the week only matters to weekly readers.
  var weekday = document.getElementById("weekday-field");
  var radios = document.querySelectorAll('input[name="frequency"]');
  function sync() {
    var checked = document.querySelector('input[name="frequency"]:checked');
    if (weekday) weekday.hidden = !(checked && checked.value === "weekly");
  }
  for (var i = 0; i < radios.length; i++) radios[i].addEventListener("change", sync);
  sync();
})();
