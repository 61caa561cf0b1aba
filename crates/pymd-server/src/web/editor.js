// PyMD's editor: a live preview of the Markdown while typing. The server renders it through the
// same renderer and sanitiser as a saved document (POST /documents/preview, same origin, the
// form's CSRF token), so what the preview shows is exactly what the document will show. Without
// this script the Preview button does the same with a page load.
(() => {
  'use strict';
  const form = document.querySelector('form[data-preview]');
  const out = document.getElementById('preview-body');
  if (!form || !out) return;
  const content = form.elements.namedItem('content');
  const csrf = form.elements.namedItem('csrf_token');
  let timer = 0;
  let latest = 0;
  async function refresh() {
    latest += 1;
    const mine = latest;
    const body = new URLSearchParams({ csrf_token: csrf.value, content: content.value });
    const r = await fetch('/documents/preview', { method: 'POST', body, credentials: 'same-origin' });
    if (!r.ok || mine !== latest) return;
    const html = await r.text();
    // Sanitised by the server, as on the document's own page.
    out.innerHTML = html;
    out.dataset.state = 'live';
  }
  content.addEventListener('input', () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => { refresh().catch(() => {}); }, 250);
  });
})();
