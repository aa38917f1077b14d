// Slotkeeper: pick the browser's time zone on slot pickers when the URL does not name one.
(function () {
  var select = document.querySelector('select[data-autodetect]');
  if (!select) return;
  var params = new URLSearchParams(window.location.search);
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!params.has('tz') && zone && select.querySelector('option[value="' + zone + '"]')) {
    params.set('tz', zone);
    window.location.replace(window.location.pathname + '?' + params.toString());
  }
  select.addEventListener('change', function () { select.form.submit(); });
})();
