// Submits the SAML response form as soon as the page loads (SAML bindings §3.5.4); the button
// inside <noscript> covers browsers without script. No inline script: the CSP forbids it.
'use strict';
document.addEventListener('DOMContentLoaded', function () {
  var form = document.getElementById('saml-post');
  if (form) form.submit();
});
