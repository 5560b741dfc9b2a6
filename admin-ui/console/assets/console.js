// Gatehouse admin console: small progressive enhancements. Every page works without this script,
// except the greying of "More actions" (the server checks the selection anyway) and the tour.
'use strict';
(function () {
  var NAV_COOKIE = 'gh_admin_nav';

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // ---- navigation state, remembered in a cookie the server reads (so the first paint is right)
  function saveNav() {
    var closed = $all('.nav-section').filter(function (s) { return !s.classList.contains('open'); }).map(function (s) { return s.getAttribute('data-section'); });
    var value = 'menu:' + (document.body.classList.contains('nav-collapsed') ? 'collapsed' : 'open') + '|closed:' + closed.join(',');
    document.cookie = NAV_COOKIE + '=' + encodeURIComponent(value) + '; path=/admin; max-age=31536000; samesite=lax';
  }

  function initNav() {
    $all('.section-toggle').forEach(function (btn) {
      btn.addEventListener('click', function () {
        var section = btn.closest('.nav-section');
        if (document.body.classList.contains('nav-collapsed')) {
          // Collapsed to icons: a section click expands the menu and opens that section.
          document.body.classList.remove('nav-collapsed');
          $('[data-collapse-menu]').setAttribute('aria-pressed', 'false');
          section.classList.add('open');
        } else {
          section.classList.toggle('open');
        }
        var open = section.classList.contains('open');
        btn.setAttribute('aria-expanded', open ? 'true' : 'false');
        var list = document.getElementById(btn.getAttribute('aria-controls'));
        if (list) list.hidden = !open;
        saveNav();
      });
    });
    var collapse = $('[data-collapse-menu]');
    if (collapse) {
      collapse.addEventListener('click', function () {
        var collapsed = document.body.classList.toggle('nav-collapsed');
        collapse.setAttribute('aria-pressed', collapsed ? 'true' : 'false');
        saveNav();
      });
    }
    var mobile = $('[data-mobile-nav]');
    if (mobile) {
      mobile.addEventListener('click', function () {
        var nav = document.getElementById('sidenav');
        var open = nav.classList.toggle('open');
        mobile.setAttribute('aria-expanded', open ? 'true' : 'false');
      });
    }
  }

  // ---- menus (<details data-menu>): one open at a time, close on outside click and Escape, arrow keys
  function items(menu) { return $all('a, button:not([disabled])', menu.querySelector('.menu-list, .menu-panel') || menu); }
  function initMenus() {
    var menus = $all('details[data-menu]');
    menus.forEach(function (menu) {
      menu.addEventListener('toggle', function () {
        if (!menu.open) return;
        menus.forEach(function (other) { if (other !== menu) other.open = false; });
      });
      menu.addEventListener('keydown', function (e) {
        var list = items(menu);
        var i = list.indexOf(document.activeElement);
        if (e.key === 'Escape' && menu.open) {
          menu.open = false;
          menu.querySelector('summary').focus();
          e.preventDefault();
        } else if (e.key === 'ArrowDown') {
          if (!menu.open) menu.open = true;
          (list[i + 1] || list[0]).focus();
          e.preventDefault();
        } else if (e.key === 'ArrowUp' && menu.open) {
          (list[i - 1] || list[list.length - 1]).focus();
          e.preventDefault();
        }
      });
    });
    document.addEventListener('click', function (e) {
      menus.forEach(function (menu) { if (menu.open && !menu.contains(e.target)) menu.open = false; });
    });
  }

  // ---- selection: select all on page, selection count, "More actions" greyed until a row is selected
  function initSelection() {
    $all('[data-requires-selection]').forEach(function (menu) {
      var formId = menu.getAttribute('data-requires-selection');
      var boxes = $all('input[data-row-check][form="' + formId + '"]');
      var all = $('[data-select-all="' + formId + '"]');
      var count = $('[data-selection-count="' + formId + '"]');
      var summary = menu.querySelector('summary');
      var noun = formId.indexOf('device') === 0 ? 'device' : 'user';
      function update() {
        var n = boxes.filter(function (b) { return b.checked; }).length;
        var none = n === 0;
        menu.classList.toggle('is-disabled', none);
        summary.setAttribute('aria-disabled', none ? 'true' : 'false');
        summary.title = none ? 'Select one or more rows first' : '';
        if (none) menu.open = false;
        if (count) count.textContent = none ? 'No ' + noun + 's selected' : n + ' ' + noun + (n === 1 ? '' : 's') + ' selected';
        if (all) {
          all.checked = n > 0 && n === boxes.length;
          all.indeterminate = n > 0 && n < boxes.length;
        }
      }
      summary.addEventListener('click', function (e) {
        if (menu.classList.contains('is-disabled')) e.preventDefault();
      });
      boxes.forEach(function (b) { b.addEventListener('change', update); });
      if (all) {
        all.addEventListener('change', function () {
          boxes.forEach(function (b) { b.checked = all.checked; });
          update();
        });
      }
      update();
    });
  }

  // ---- confirmations on destructive forms
  function initConfirm() {
    $all('form[data-confirm]').forEach(function (form) {
      form.addEventListener('submit', function (e) {
        if (!window.confirm(form.getAttribute('data-confirm'))) e.preventDefault();
      });
    });
  }

  // ---- copy buttons
  function initCopy() {
    $all('[data-copy]').forEach(function (btn) {
      btn.addEventListener('click', function () {
        var target = document.getElementById(btn.getAttribute('data-copy'));
        if (!target || !navigator.clipboard) return;
        navigator.clipboard.writeText(target.textContent.trim()).then(function () {
          var label = btn.querySelector('span');
          if (!label) return;
          var old = label.textContent;
          label.textContent = 'Copied';
          setTimeout(function () { label.textContent = old; }, 1500);
        });
      });
    });
  }

  // ---- repeatable rows (RADIUS reply attributes, SAML attributes)
  function initRepeat() {
    $all('[data-add-row]').forEach(function (btn) {
      btn.addEventListener('click', function () {
        var table = btn.previousElementSibling;
        while (table && !table.matches('table[data-repeat]')) table = table.previousElementSibling;
        if (!table) return;
        var rows = table.tBodies[0].rows;
        var last = rows[rows.length - 1];
        var copy = last.cloneNode(true);
        var n = rows.length;
        $all('input, select', copy).forEach(function (el) {
          if (el.tagName === 'INPUT') el.value = '';
          el.id = el.id.replace(/\d+$/, String(n));
        });
        $all('label', copy).forEach(function (l) { l.htmlFor = l.htmlFor.replace(/\d+$/, String(n)); });
        table.tBodies[0].appendChild(copy);
        var first = copy.querySelector('input, select');
        if (first) first.focus();
      });
    });
  }

  // ---- "/" focuses the list search
  function initShortcuts() {
    document.addEventListener('keydown', function (e) {
      if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
      var t = e.target;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
      var search = $('#list-search, #i-q');
      if (search) {
        search.focus();
        e.preventDefault();
      }
    });
  }

  // ---- product tour: steps are data in the page (#tour-steps), targets are [data-tour] elements
  function initTour() {
    var dialog = $('#tour');
    var data = $all('#tour-steps li');
    if (!dialog || data.length === 0) return;
    var steps = data.map(function (li) { return { target: li.getAttribute('data-target'), title: li.getAttribute('data-title'), text: li.textContent }; });
    var card = dialog.querySelector('.tour-card');
    var at = 0;
    var current = null;
    function place() {
      var s = steps[at];
      var el = $('[data-tour="' + s.target + '"]');
      if (current) current.classList.remove('tour-target');
      current = el;
      $('#tour-count').textContent = 'Step ' + (at + 1) + ' of ' + steps.length;
      $('#tour-title').textContent = s.title;
      $('#tour-text').textContent = s.text;
      dialog.querySelector('[data-tour-prev]').disabled = at === 0;
      dialog.querySelector('[data-tour-next]').textContent = at === steps.length - 1 ? 'Finish' : 'Next';
      if (el) {
        el.classList.add('tour-target');
        var r = el.getBoundingClientRect();
        var left = r.right + 16;
        var top = Math.max(16, r.top);
        if (left + 340 > window.innerWidth) left = Math.max(16, r.left - 356);
        if (left < 16 || r.width > window.innerWidth * 0.5) { left = Math.min(window.innerWidth - 356, Math.max(16, r.left + 24)); top = Math.min(window.innerHeight - 220, r.top + 24); }
        if (top + 220 > window.innerHeight) top = Math.max(16, window.innerHeight - 240);
        card.style.left = left + 'px';
        card.style.top = top + 'px';
      }
      dialog.querySelector('[data-tour-next]').focus();
    }
    function stop() {
      dialog.hidden = true;
      if (current) current.classList.remove('tour-target');
      try { localStorage.setItem('gh-tour-done', '1'); } catch (e) { /* private mode */ }
    }
    function start() {
      $all('details[data-menu]').forEach(function (m) { m.open = false; });
      at = 0;
      dialog.hidden = false;
      place();
    }
    dialog.querySelector('[data-tour-next]').addEventListener('click', function () { if (at === steps.length - 1) stop(); else { at++; place(); } });
    dialog.querySelector('[data-tour-prev]').addEventListener('click', function () { if (at > 0) { at--; place(); } });
    dialog.querySelector('[data-tour-skip]').addEventListener('click', stop);
    document.addEventListener('keydown', function (e) { if (e.key === 'Escape' && !dialog.hidden) stop(); });
    $all('[data-start-tour]').forEach(function (b) { b.addEventListener('click', start); });
  }

  document.addEventListener('DOMContentLoaded', function () {
    initNav();
    initMenus();
    initSelection();
    initConfirm();
    initCopy();
    initRepeat();
    initShortcuts();
    initTour();
    var invalid = $('[aria-invalid="true"]');
    if (invalid) invalid.focus();
  });
})();
