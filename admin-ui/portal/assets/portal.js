// Small progressive enhancements of the portal; every page works without them.
'use strict';
document.addEventListener('DOMContentLoaded', function () {
  // Focus the first field that has an error, or the first empty field of the main form.
  var target = document.querySelector('[aria-invalid="true"]') || document.querySelector('main form input:not([type=hidden]):not([value])');
  if (target && typeof target.focus === 'function') target.focus();
});
