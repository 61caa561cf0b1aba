// The example SPA at /spa/: it signs in through PyMD's SPA token API and the dev tenant, lists the
// user's documents with the access token, renews it, and keeps no token in browser storage.
const {
  test, expect, ALICE, onTenant, backOnApp, tenantLogTypes, checkPage,
} = require('../support');

test('the example SPA signs in, lists documents with its token and renews it', async ({ page }) => {
  await page.goto('/spa/');
  await expect(page.getByTestId('spa-status')).toHaveText('Signed out.');
  await checkPage(page, 'spa-signed-out');
  await page.getByTestId('spa-sign-in').click();
  await page.waitForURL((u) => onTenant(u) && u.pathname === '/u/login');
  await page.getByLabel('Email address').fill(ALICE.email);
  await page.getByLabel('Password').fill(ALICE.password);
  await page.getByRole('button', { name: 'Continue' }).click();
  await backOnApp(page, '/spa/');
  await expect(page.getByTestId('spa-status')).toHaveText('Signed in.');
  await expect(page.getByTestId('spa-user')).toHaveText(ALICE.name);
  // The list came back: Alice's documents, or the empty state.
  await expect(page.locator('#documents li, #no-documents:not([hidden])').first()).toBeVisible();
  await checkPage(page, 'spa-signed-in');

  // Renewing rotates the refresh token through the backend (one more exchange at the tenant).
  const before = (await tenantLogTypes()).filter((t) => t === 'sertft').length;
  await page.getByTestId('spa-renew').click();
  await expect(page.getByTestId('spa-renewals')).toHaveText('1');
  await expect(page.getByTestId('spa-error')).toBeHidden();
  const after = (await tenantLogTypes()).filter((t) => t === 'sertft').length;
  expect(after).toBeGreaterThan(before);

  // No token in any browser storage: not in localStorage, sessionStorage or cookies.
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
  expect(stored).toBe('{}');
  const cookies = await page.context().cookies();
  expect(cookies.filter((c) => /token/i.test(c.name) || c.value.split('.').length === 3)).toEqual([]);
});
