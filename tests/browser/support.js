// What every spec of the browser suite shares: the `page` fixture that fails a test on any
// console error, page error, dialog or CSP violation; signing up, in and out through the dev
// tenant; axe-core checks; screenshots at desktop and phone widths; the test control server.
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { test: base, expect } = require('@playwright/test');

const APP = process.env.PYMD_APP_URL;
// The tenant's issuer URL, with its trailing slash.
const TENANT = process.env.PYMD_TENANT_URL;
const CONTROL = process.env.PYMD_CONTROL_URL;
const ARTIFACTS = process.env.PYMD_BROWSER_ARTIFACTS
  || path.join(__dirname, '..', '..', 'target', 'browser');
const SHOTS = path.join(ARTIFACTS, 'screenshots');
// With PYMD_UPDATE_SCREENSHOTS set, the screenshots are also written to docs/screenshots.
const COMMITTED_SHOTS = process.env.PYMD_UPDATE_SCREENSHOTS
  ? path.join(__dirname, '..', '..', 'docs', 'screenshots')
  : null;
// The screenshots kept in docs/screenshots for the README (the rest stay artifacts only).
const COMMITTED_SET = new Set([
  'home-desktop', 'home-phone', 'dashboard-new-user-phone', 'documents-list-desktop',
  'documents-list-phone', 'document-view-desktop', 'document-view-dark-phone',
  'editor-preview-desktop', 'editor-preview-phone', 'settings-dark-desktop', 'tenant-login-desktop',
  'tenant-login-phone', 'tenant-signup-dark-desktop', 'api-docs-desktop', 'api-docs-phone',
  'error-not-found-phone',
].map((n) => `${n}.png`));
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const ALICE = { email: 'alice@example.com', password: 'Alice-Dev-2026!', name: 'Alice Example' };
// Meets the dev tenant's password policy (length, three character kinds, not in a dictionary).
const PASSWORD = 'Quokka-Lantern-47!';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const SMALLEST = { width: 360, height: 740 };

const test = base.extend({
  // Console messages (regular expressions) a test expects, e.g. the 404 of a missing document.
  allowedConsole: [[], { option: true }],

  page: async ({ page, allowedConsole }, use) => {
    const problems = [];
    page.on('console', (m) => {
      const text = m.text();
      const csp = /Content.Security.Policy|CSP violation/i.test(text);
      if ((m.type() === 'error' || csp) && !allowedConsole.some((r) => r.test(text))) {
        problems.push(`console ${m.type()} on ${page.url()}: ${text}`);
      }
    });
    page.on('pageerror', (e) => problems.push(`page error on ${page.url()}: ${e.message}`));
    // A dialog can only come from a script someone managed to run.
    page.on('dialog', async (d) => {
      problems.push(`a ${d.type()} dialog opened on ${page.url()}: ${d.message()}`);
      await d.dismiss();
    });
    // CSP violations as events too, should the console's wording change.
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`);
      });
    });
    await use(page);
    expect(problems, 'no console error, page error, dialog or CSP violation').toEqual([]);
  },
});

/** A fresh, unique email address. */
function uniqueEmail(tag = 'pw') {
  return `${tag}-${Date.now()}-${crypto.randomBytes(4).toString('hex')}@example.com`;
}

/** Whether `url` is on the dev tenant. */
function onTenant(url) {
  return String(url).startsWith(TENANT);
}

/** Waits until the page is back on the app at `pathname`. */
async function backOnApp(page, pathname) {
  await page.waitForURL((u) => u.origin === new URL(APP).origin && u.pathname === pathname);
}

/** Signs a new user up through the dev tenant's sign-up form; ends on the dashboard. */
async function signUp(page, { email = uniqueEmail(), password = PASSWORD } = {}) {
  await page.goto('/auth/login?returnTo=%2Fdashboard');
  await page.waitForURL((u) => onTenant(u) && u.pathname === '/u/login');
  await page.getByRole('link', { name: 'Sign up' }).click();
  await page.waitForURL((u) => onTenant(u) && u.pathname === '/u/signup');
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Continue' }).click();
  await backOnApp(page, '/dashboard');
  return { email, password };
}

/** Logs in through the dev tenant's login form; ends on `returnTo`. */
async function logIn(page, { email, password }, returnTo = '/dashboard') {
  await page.goto(`/auth/login?returnTo=${encodeURIComponent(returnTo)}`);
  await page.waitForURL((u) => onTenant(u) && u.pathname === '/u/login');
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Continue' }).click();
  await backOnApp(page, returnTo);
}

/** Logs out with the navigation's button; ends on the signed-out home page. */
async function logOut(page) {
  await page.getByTestId('logout').click();
  await backOnApp(page, '/');
  await expect(page.getByTestId('login')).toBeVisible();
}

/** The session cookie's value. */
async function sessionCookie(page) {
  const cookies = await page.context().cookies(APP);
  const c = cookies.find((x) => x.name === 'pymd_session');
  return c && c.value;
}

/** The dev tenant's log event types, oldest first. */
async function tenantLogTypes() {
  const r = await fetch(`${TENANT}__dev/logs`);
  expect(r.ok).toBeTruthy();
  return (await r.json()).map((e) => e.type);
}

/** A call to the test control server (see crates/pymd-server/tests/api/browser.rs). */
async function control(method, pathname, body) {
  const r = await fetch(`${CONTROL}${pathname}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await r.json();
  expect(r.status, JSON.stringify(json)).toBe(200);
  return json;
}

/**
 * axe-core on the page as it is: no serious or critical violation. Injected through the
 * DevTools protocol (page.evaluate), which the page's CSP does not govern: nothing is added to
 * the page's own scripts.
 */
async function expectAccessible(page, label) {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  expect(violations, `axe on ${label} (${page.url()})`).toEqual([]);
}

/** How far the page scrolls sideways (0: it fits its viewport). */
async function sidewaysOverflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

async function saveShot(page, file) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const target = path.join(SHOTS, file);
  await page.screenshot({ path: target, animations: 'disabled', caret: 'hide' });
  if (COMMITTED_SHOTS && COMMITTED_SET.has(file)) {
    fs.mkdirSync(COMMITTED_SHOTS, { recursive: true });
    fs.copyFileSync(target, path.join(COMMITTED_SHOTS, file));
  }
}

/**
 * Checks a page as people see it: accessible (axe), no sideways scrolling from 360 px to
 * desktop, and screenshots `name-desktop.png` and `name-phone.png` (light), plus dark ones with
 * `{ dark: true }`. Leaves the page at the desktop size.
 */
async function checkPage(page, name, { dark = false } = {}) {
  await expectAccessible(page, name);
  for (const size of [SMALLEST, PHONE]) {
    await page.setViewportSize(size);
    expect(await sidewaysOverflow(page), `${name} scrolls sideways at ${size.width} px`).toBe(0);
  }
  await saveShot(page, `${name}-phone.png`);
  await page.setViewportSize(DESKTOP);
  expect(await sidewaysOverflow(page), `${name} scrolls sideways on a desktop`).toBe(0);
  await saveShot(page, `${name}-desktop.png`);
  if (dark) {
    await page.emulateMedia({ colorScheme: 'dark' });
    await expectAccessible(page, `${name} (dark)`);
    await saveShot(page, `${name}-dark-desktop.png`);
    await page.setViewportSize(PHONE);
    await saveShot(page, `${name}-dark-phone.png`);
    await page.setViewportSize(DESKTOP);
    await page.emulateMedia({ colorScheme: 'light' });
  }
}

/**
 * Presses Tab until `locator` has the focus (at most `max` times), checking that every element
 * reached on the way shows where the focus is. Fails if the element is never reached.
 */
async function tabTo(page, locator, max = 40) {
  for (let i = 0; i < max; i += 1) {
    await page.keyboard.press('Tab');
    const visible = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return true;
      const cs = getComputedStyle(el);
      const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0;
      return outline || cs.boxShadow !== 'none';
    });
    const described = await page.evaluate(() => {
      const el = document.activeElement;
      return `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} "${(el.textContent || el.value || '').trim().slice(0, 30)}"`;
    });
    expect(visible, `the focus on ${described} is visible`).toBeTruthy();
    if (await locator.evaluate((el) => el === document.activeElement)) return;
  }
  throw new Error(`Tab never reached ${locator}`);
}

/** Creates documents through the app's own form endpoint, from one of its pages (same origin). */
async function createDocuments(page, docs) {
  await page.goto('/documents/new');
  const csrf = await page.locator('input[name="csrf_token"]').first().inputValue();
  const statuses = await page.evaluate(async ({ docs, csrf }) => {
    const out = [];
    for (const d of docs) {
      const body = new URLSearchParams({ csrf_token: csrf, title: d.title, content: d.content });
      const r = await fetch('/documents', { method: 'POST', body, redirect: 'manual' });
      out.push(r.type === 'opaqueredirect' ? 303 : r.status);
    }
    return out;
  }, { docs, csrf });
  expect(statuses.every((s) => s === 303), `created: ${statuses}`).toBeTruthy();
}

module.exports = {
  test, expect, APP, TENANT, ALICE, PASSWORD, DESKTOP, PHONE,
  uniqueEmail, onTenant, backOnApp, signUp, logIn, logOut, sessionCookie, tenantLogTypes, control,
  expectAccessible, sidewaysOverflow, checkPage, tabTo, createDocuments,
};
