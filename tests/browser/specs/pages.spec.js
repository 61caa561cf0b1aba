// Every page people meet, at every width: accessible (axe: no serious or critical violation),
// no sideways scrolling, screenshots; and every form used by keyboard alone.
const {
  test, expect, TENANT, APP, ALICE, PASSWORD, uniqueEmail, onTenant, backOnApp, signUp, checkPage,
  expectAccessible, tabTo,
} = require('../support');

test.describe('the dev tenant', () => {
// A refused login or sign-up answers 400, as Auth0's does: the browser reports that status.
test.use({ allowedConsole: [/status of 400/] });

test('the dev tenant\'s login and sign-up pages, and their errors', async ({ page }) => {
  await page.goto('/auth/login?returnTo=%2Fdashboard');
  await page.waitForURL((u) => onTenant(u) && u.pathname === '/u/login');
  await checkPage(page, 'tenant-login', { dark: true });
  await page.getByLabel('Email address').fill(ALICE.email);
  await page.getByLabel('Password').fill('not-her-password');
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('alert')).toBeVisible();
  await checkPage(page, 'tenant-login-error');

  await page.getByRole('link', { name: 'Sign up' }).click();
  await page.waitForURL((u) => onTenant(u) && u.pathname === '/u/signup');
  await checkPage(page, 'tenant-signup', { dark: true });
  await page.getByLabel('Email address').fill(uniqueEmail());
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('alert')).toBeVisible();
  await checkPage(page, 'tenant-signup-error');
});
});

test('the API reference is served by PyMD, readable at every width', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('link', { name: 'API reference' }).click();
  await expect(page).toHaveURL(/\/api\/docs$/);
  await expect(page.locator('h1')).toContainText('PyMD API');
  const ops = page.getByTestId('operation');
  expect(await ops.count()).toBeGreaterThan(5);
  await expect(page.locator('#op-get-api-v1-documents')).toContainText('read:documents');
  await page.locator('#op-get-api-v1-documents a[href^="#schema-"]').first().click();
  await expect(page.locator('details.schema:target, details.schema[open]').first()).toBeAttached();
  const served = await page.evaluate(async () => (await fetch('/api/openapi.json')).json());
  const count = Object.values(served.paths)
    .reduce((n, item) => n + ['get', 'post', 'put', 'patch', 'delete'].filter((m) => item[m]).length, 0);
  await expect(ops).toHaveCount(count);
  await checkPage(page, 'api-docs', { dark: true });
});

test.describe('pages that answer with an error status', () => {
  // The browser reports the status of a page that is an error page.
  test.use({ allowedConsole: [/status of 40[034]/] });

  test('the tenant\'s error page and the app\'s error pages', async ({ page }) => {
    await page.goto(`${TENANT}authorize?client_id=nobody&response_type=code`);
    await expect(page.locator('h1')).toBeVisible();
    await checkPage(page, 'tenant-error');

    await signUp(page);
    await page.goto('/documents/00000000-0000-4000-8000-000000000000');
    await expect(page.locator('h1')).toHaveText('Not found');
    await checkPage(page, 'error-not-found', { dark: true });
    await page.goto('/documents?cursor=garbage');
    await expect(page.locator('h1')).toHaveText('Bad request');
    await expectAccessible(page, 'bad cursor');
  });
});

test('the login and sign-up forms work by keyboard alone', async ({ page }) => {
  await page.goto('/');
  await tabTo(page, page.getByTestId('login'));
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => onTenant(u) && u.pathname === '/u/login');
  await tabTo(page, page.getByRole('link', { name: 'Sign up' }));
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => onTenant(u) && u.pathname === '/u/signup');
  const email = uniqueEmail('kbd');
  await tabTo(page, page.getByLabel('Email address'));
  await page.keyboard.type(email);
  await tabTo(page, page.getByLabel('Password'));
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await backOnApp(page, '/dashboard');
  await expect(page.getByTestId('logout')).toBeVisible();

  // Then out, and in again with the login form.
  await tabTo(page, page.getByTestId('logout'));
  await page.keyboard.press('Enter');
  await backOnApp(page, '/');
  await tabTo(page, page.getByTestId('login'));
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => onTenant(u) && u.pathname === '/u/login');
  await tabTo(page, page.getByLabel('Email address'));
  await page.keyboard.type(email);
  await tabTo(page, page.getByLabel('Password'));
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await backOnApp(page, '/dashboard');
  await expect(page.getByTestId('logout')).toBeVisible();
});

test('the app\'s forms work by keyboard alone', async ({ page }) => {
  await signUp(page);
  // New document: Tab to the title, type, Tab to the content, type, back to the title, Enter.
  await tabTo(page, page.getByTestId('new-document').first());
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/documents\/new$/);
  await tabTo(page, page.getByTestId('document-title'));
  await page.keyboard.type('Typed by keyboard');
  await tabTo(page, page.getByTestId('document-content'));
  await page.keyboard.type('Only *keys* were used.');
  await page.keyboard.press('Shift+Tab');
  await expect(page.getByTestId('document-title')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('document-heading')).toHaveText('Typed by keyboard');

  // Delete: open the confirmation, then the button.
  await tabTo(page, page.getByTestId('delete-toggle'));
  await page.keyboard.press('Enter');
  await tabTo(page, page.getByTestId('delete'));
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/documents(\?.*)?$/);
  await expect(page.getByTestId('document-link')).toHaveCount(0);

  // Settings: Tab to the name, type, Enter.
  await tabTo(page, page.getByTestId('nav-settings'));
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/settings$/);
  await tabTo(page, page.getByTestId('settings-name'));
  await page.keyboard.press('Control+A');
  await page.keyboard.type('Kay Board');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('settings-saved')).toBeVisible();
  await expect(page.getByTestId('settings-name')).toHaveValue('Kay Board');
});
