// Signing up, logging in and out, the profile, and a session that outlives its access token.
const {
  test, expect, APP, ALICE, signUp, logIn, logOut, sessionCookie, tenantLogTypes, control, checkPage,
} = require('../support');

test('a new user signs up through the dev tenant and lands on their dashboard', async ({ page }) => {
  await page.goto('/');
  await checkPage(page, 'home', { dark: true });
  const user = await signUp(page);
  // Greeted sensibly: a welcome, the email once, and an invitation to add a name.
  await expect(page.getByTestId('welcome')).toHaveText('Welcome to PyMD');
  const text = await page.locator('main').innerText();
  expect(text.split(user.email).length - 1, text).toBe(1);
  await expect(page.getByTestId('add-name')).toBeVisible();
  await checkPage(page, 'dashboard-new-user', { dark: true });
});

test('a seeded user logs in and the dashboard shows their name', async ({ page }) => {
  await logIn(page, ALICE);
  await expect(page.getByTestId('user-name')).toHaveText(ALICE.name);
  await expect(page.getByRole('navigation', { name: 'Main' })).toContainText(ALICE.name);
});

test('a profile change persists after logging out and in again', async ({ page }) => {
  const user = await signUp(page);
  await page.getByTestId('nav-settings').click();
  await expect(page).toHaveURL(/\/settings$/);
  await checkPage(page, 'settings', { dark: true });
  await page.getByTestId('settings-name').fill('Grace Browser');
  await page.getByTestId('settings-bio').fill('Tests pages in a real browser.');
  await page.getByTestId('save').click();
  await expect(page.getByTestId('settings-saved')).toBeVisible();
  await checkPage(page, 'settings-saved');

  await logOut(page);
  await logIn(page, user, '/settings');
  await expect(page.getByTestId('settings-name')).toHaveValue('Grace Browser');
  await expect(page.getByTestId('settings-bio')).toHaveValue('Tests pages in a real browser.');
  await page.goto('/dashboard');
  await expect(page.getByTestId('user-name')).toHaveText('Grace Browser');
});

test('an access token that expires mid-session is refreshed without the user noticing', async ({ page }) => {
  await signUp(page);
  await page.getByTestId('nav-documents').click();
  await expect(page).toHaveURL(/\/documents$/);
  const cookie = await sessionCookie(page);
  expect(cookie).toBeTruthy();
  const refreshesBefore = (await tenantLogTypes()).filter((t) => t === 'sertft').length;

  // The app now believes the access token expired a second ago.
  await control('POST', '/sessions/expire', { cookie });
  const expired = await control('GET', `/sessions/expiry?cookie=${encodeURIComponent(cookie)}`);
  expect(expired.expires_at).toBeLessThan(expired.now);

  // The next click just works: no trip to the tenant, same session, a new token.
  const navigations = [];
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });
  await page.getByTestId('nav-settings').click();
  await expect(page.getByTestId('settings-name')).toBeVisible();
  expect(navigations.every((u) => u.startsWith(APP)), navigations.join(', ')).toBeTruthy();
  expect(await sessionCookie(page)).toBe(cookie);
  const renewed = await control('GET', `/sessions/expiry?cookie=${encodeURIComponent(cookie)}`);
  expect(renewed.expires_at - renewed.now).toBeGreaterThan(30 * 60);
  const refreshesAfter = (await tenantLogTypes()).filter((t) => t === 'sertft').length;
  expect(refreshesAfter).toBe(refreshesBefore + 1);
  // The JSON API on the same session works too.
  const status = await page.evaluate(async () => (await fetch('/api/v1/documents')).status);
  expect(status).toBe(200);
});

test('after logging out, the back button shows nothing private', async ({ page }) => {
  const user = await signUp(page);
  const secret = `Private diary ${Date.now()}`;
  await page.getByTestId('new-document').first().click();
  await page.getByTestId('document-title').fill(secret);
  await page.getByTestId('document-content').fill('Only **mine**.');
  await page.getByTestId('save').click();
  await expect(page.getByTestId('document-heading')).toHaveText(secret);
  await logOut(page);
  expect(await sessionCookie(page)).toBeFalsy();
  for (let i = 0; i < 3; i += 1) {
    const back = await page.goBack();
    if (!back) break;
    await page.waitForLoadState('load');
    const text = await page.locator('body').innerText();
    expect(text, `back ${i + 1}: ${page.url()}`).not.toContain(secret);
    expect(text, `back ${i + 1}: ${page.url()}`).not.toContain(user.email);
  }
});
