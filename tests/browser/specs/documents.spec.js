// Documents in the browser: create, edit, view, delete; hostile Markdown runs nothing; paging.
const { test, expect, signUp, checkPage, createDocuments } = require('../support');

test('create, edit, view and delete a document', async ({ page }) => {
  await signUp(page);
  await page.getByTestId('nav-documents').click();
  await checkPage(page, 'documents-empty');
  await page.getByTestId('new-document').first().click();
  await expect(page).toHaveURL(/\/documents\/new$/);
  await checkPage(page, 'editor-new', { dark: true });

  await page.getByTestId('document-title').fill('Shopping list');
  await page.getByTestId('document-content').fill('# Groceries\n\n- apples\n- *pears*\n');
  // The live preview renders through the server's sanitiser as the user types.
  await expect(page.getByTestId('preview').locator('h1')).toHaveText('Groceries');
  await expect(page.getByTestId('preview').locator('em')).toHaveText('pears');
  await checkPage(page, 'editor-preview', { dark: true });
  await page.getByTestId('save').click();
  await expect(page.getByTestId('document-heading')).toHaveText('Shopping list');
  await expect(page.getByTestId('flash')).toHaveText('Document created.');
  // Dates for people, the exact time for machines.
  const updated = page.getByTestId('updated');
  await expect(updated).toHaveText(/^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC$/);
  expect(Date.parse(await updated.getAttribute('datetime'))).toBeGreaterThan(Date.now() - 10 * 60_000);
  const body = page.getByTestId('document-body');
  await expect(body.locator('h1')).toHaveText('Groceries');
  await expect(body.locator('em')).toHaveText('pears');
  await checkPage(page, 'document-view', { dark: true });

  await page.getByTestId('edit').click();
  await expect(page.getByTestId('document-title')).toHaveValue('Shopping list');
  await page.getByTestId('document-content').fill('# Groceries\n\n- apples\n- plums\n');
  await page.getByTestId('save').click();
  await expect(body.locator('li').nth(1)).toHaveText('plums');
  await expect(page.getByTestId('flash')).toHaveText('Changes saved.');
  // Once only: a reload does not say it again.
  await page.reload();
  await expect(body.locator('li').nth(1)).toHaveText('plums');
  await expect(page.getByTestId('flash')).toHaveCount(0);

  await page.getByTestId('nav-documents').click();
  await expect(page.getByTestId('document-link')).toHaveText(['Shopping list']);
  await checkPage(page, 'documents-list', { dark: true });
  await page.getByTestId('document-link').click();
  await page.getByTestId('delete-toggle').click();
  await page.getByTestId('delete').click();
  await expect(page).toHaveURL(/\/documents(\?.*)?$/);
  await expect(page.getByTestId('flash')).toHaveText('Document deleted.');
  await expect(page.getByTestId('document-link')).toHaveCount(0);
  await expect(page.getByText('No documents yet.')).toBeVisible();
});

test.describe('without scripts', () => {
  test.use({ javaScriptEnabled: false });

  test('the Preview button renders the Markdown and saves nothing', async ({ page }) => {
    await signUp(page);
    await page.goto('/documents/new');
    await page.getByTestId('document-title').fill('Draft');
    await page.getByTestId('document-content').fill('## Plan\n\n<script>alert(1)</script>\n\n**bold**');
    await page.getByTestId('preview-button').click();
    await expect(page.getByTestId('preview').locator('h2')).toHaveText('Plan');
    await expect(page.getByTestId('preview').locator('strong')).toHaveText('bold');
    await expect(page.getByTestId('preview').locator('script')).toHaveCount(0);
    await expect(page.getByTestId('document-title')).toHaveValue('Draft');
    await page.goto('/documents');
    await expect(page.getByTestId('document-link')).toHaveCount(0);
  });
});

test.describe('hostile documents', () => {
// The payloads' `<img src="x">` asks for a missing image: that 404 is the only message allowed.
test.use({ allowedConsole: [/status of 404/] });

test('a document holding script payloads runs nothing', async ({ page }) => {
  await signUp(page);
  const payloads = [
    '<script>window.__pwned = "script"; alert(1)</script>',
    '<img src="x" onerror="window.__pwned = \'onerror\'; alert(2)">',
    '[click me](javascript:window.__pwned=\'link\';alert(3))',
    '<a href="javascript:alert(4)">raw link</a>',
    '<svg onload="alert(5)"><circle r="4"/></svg>',
    '<iframe src="javascript:alert(6)"></iframe>',
    '<p style="background:url(javascript:alert(7))" onclick="alert(8)">styled</p>',
  ];
  await page.getByTestId('new-document').first().click();
  await page.getByTestId('document-title').fill('<img src=x onerror=alert(9)> title');
  await page.getByTestId('document-content').fill(payloads.join('\n\n'));
  await page.getByTestId('save').click();
  await expect(page.getByTestId('document-heading')).toHaveText('<img src=x onerror=alert(9)> title');
  const body = page.getByTestId('document-body');
  await expect(body).toContainText('click me');
  // Clicking what is left of the links does nothing either.
  for (const name of ['click me', 'raw link', 'styled']) {
    await body.getByText(name).click();
  }
  const state = await page.evaluate(() => ({
    pwned: window.__pwned,
    scripts: document.querySelectorAll('[data-testid="document-body"] script, [data-testid="document-body"] iframe').length,
    handlers: [...document.querySelectorAll('[data-testid="document-body"] *')]
      .flatMap((el) => [...el.attributes].map((a) => a.name))
      .filter((n) => n.startsWith('on') || n === 'style'),
    hrefs: [...document.querySelectorAll('[data-testid="document-body"] a[href]')].map((a) => a.getAttribute('href')),
  }));
  expect(state.pwned).toBeUndefined();
  expect(state.scripts).toBe(0);
  expect(state.handlers).toEqual([]);
  expect(state.hrefs.filter((h) => /^\s*javascript:/i.test(h))).toEqual([]);
  // Still on the document: no link navigated anywhere.
  await expect(page.getByTestId('document-heading')).toBeVisible();
  // The editor shows the payloads as text, never as markup.
  await page.getByTestId('edit').click();
  await expect(page.getByTestId('document-content')).toHaveValue(payloads.join('\n\n'));
  expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
  // Nor does the live preview.
  await page.getByTestId('document-content').fill(`${payloads.join('\n\n')}\n\nnow`);
  await expect(page.getByTestId('preview')).toContainText('now');
  expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
  expect(await page.locator('[data-testid="preview"] script, [data-testid="preview"] [onerror]').count()).toBe(0);
});
});

test('the documents list pages through older documents', async ({ page }) => {
  await signUp(page);
  const docs = Array.from({ length: 21 }, (_, i) => ({ title: `Note ${String(i + 1).padStart(2, '0')}`, content: `Body ${i + 1}` }));
  await createDocuments(page, docs);
  await page.goto('/documents');
  const links = page.getByTestId('document-link');
  await expect(links).toHaveCount(20);
  await expect(links.first()).toHaveText('Note 21');
  await expect(page.getByTestId('page-number')).toHaveText('Page 1');
  await expect(page.getByTestId('newest')).toHaveCount(0);
  await checkPage(page, 'documents-paged');
  await page.getByTestId('older').click();
  await expect(links).toHaveText(['Note 01']);
  await expect(page.getByTestId('page-number')).toHaveText('Page 2');
  await expect(page.getByTestId('older')).toHaveCount(0);
  await page.getByTestId('newest').click();
  await expect(links.first()).toHaveText('Note 21');
});
