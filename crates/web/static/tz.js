// Slotkeeper pickers, enhanced: the browser's zone and clock when the URL names none, the full
// zone list on demand, and arrow keys in the month grid and the day's times.
(function () {
  var input = document.getElementById('tz');
  if (!input) return;
  var form = input.form;
  var show = form.querySelector('button.show');
  var submit = function () { form.requestSubmit ? form.requestSubmit(show) : show.click(); };

  // Detection: only on a page the reader reached without naming a zone.
  if (input.hasAttribute('data-autodetect')) {
    var params = new URLSearchParams(window.location.search);
    var zone, h12;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      h12 = Intl.DateTimeFormat(undefined, { hour: 'numeric' }).resolvedOptions().hour12;
    } catch (e) { zone = null; }
    var changed = false;
    if (zone && zone !== input.value && !params.has('tz')) { params.set('tz', zone); changed = true; }
    var clock = h12 === undefined ? null : (h12 ? '12' : '24');
    var checked = form.querySelector('input[name=clock]:checked');
    if (clock && !params.has('clock') && (!checked || checked.value !== clock)) { params.set('clock', clock); changed = true; }
    if (changed && window.location.search.indexOf('start=') < 0) {
      window.location.replace(window.location.pathname + '?' + params.toString());
      return;
    }
  }

  // The full zone list, fetched the first time the zone box is used.
  var loaded = false;
  input.addEventListener('focus', function () {
    if (loaded) return;
    loaded = true;
    fetch('/book/zones.json').then(function (r) { return r.json(); }).then(function (zones) {
      var list = document.getElementById('zones');
      list.textContent = '';
      zones.forEach(function (z) {
        var o = document.createElement('option');
        o.value = z.name; o.textContent = z.label; list.appendChild(o);
      });
    }).catch(function () { loaded = false; });
  });
  input.addEventListener('change', function () { if (input.value) submit(); });
  form.querySelectorAll('input[name=clock]').forEach(function (r) { r.addEventListener('change', submit); });

  // The month grid: one tab stop, arrow keys move between open days, PageUp/PageDown change month.
  var grid = form.querySelector('table[role=grid]');
  if (grid) {
    var cells = Array.prototype.slice.call(grid.querySelectorAll('td'));
    var buttons = grid.querySelectorAll('td button');
    var current = grid.querySelector('td[aria-selected=true] button') || buttons[0];
    buttons.forEach(function (b) { b.tabIndex = b === current ? 0 : -1; });
    grid.addEventListener('keydown', function (e) {
      var steps = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 }[e.key];
      if (e.key === 'PageUp' || e.key === 'PageDown') {
        var step = form.querySelector('.month-head button[aria-label="' + (e.key === 'PageUp' ? 'Previous' : 'Next') + ' month"]');
        if (step) { e.preventDefault(); step.click(); }
        return;
      }
      if (!steps) return;
      var at = cells.indexOf(e.target.closest('td'));
      for (var i = at + steps; i >= 0 && i < cells.length; i += steps) {
        var b = cells[i].querySelector('button');
        if (b) {
          e.preventDefault();
          buttons.forEach(function (x) { x.tabIndex = -1; });
          b.tabIndex = 0; b.focus();
          return;
        }
      }
    });
  }

  // The day's times (buttons): arrow keys move between them.
  var slots = form.querySelector('.slots');
  if (slots) {
    slots.addEventListener('keydown', function (e) {
      var d = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[e.key];
      if (!d || e.target.tagName !== 'BUTTON') return;
      var all = Array.prototype.slice.call(slots.querySelectorAll('button'));
      var next = all[all.indexOf(e.target) + d];
      if (next) { e.preventDefault(); next.focus(); }
    });
  }
})();
