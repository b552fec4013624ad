// A person on call in the web console, on a desktop and on a phone: sign in,
// see the firing alert (its title escaped, exactly as sent), open it,
// acknowledge it, read the notice, sign out. run.sh starts ackbot with a
// [[ui.users]] operator, posts the alert and checks the state through the
// API afterwards.
//
// Environment: BASE_URL, ALERT_TITLE, UI_USER, UI_PASSWORD, CHROMIUM,
// CERT_SPKI (as in click.mjs), SCREENSHOT_DIR (optional: the alert list at
// 375 px and 1280 px, and the alert page).

import puppeteer from 'puppeteer-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const base = env('BASE_URL');
const title = env('ALERT_TITLE');
const user = env('UI_USER');
const password = env('UI_PASSWORD');
const shots = process.env.SCREENSHOT_DIR;

const deadline = setTimeout(() => {
  console.error('FAIL: the console test did not finish within 90 s');
  process.exit(2);
}, 90_000);

let checks = 0;
function check(ok, what, detail = '') {
  if (!ok) throw new Error(`FAIL: ${what}${detail ? `\n  got: ${detail}` : ''}`);
  checks += 1;
  console.log(`  ok   ${what}`);
}

const args = [
  '--headless=new',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--no-first-run',
  '--no-default-browser-check',
  `--ignore-certificate-errors-spki-list=${env('CERT_SPKI')}`,
];
if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');

const browser = await puppeteer.launch({
  executablePath: env('CHROMIUM'),
  headless: true,
  args,
  timeout: 30_000,
  protocolTimeout: 30_000,
});

try {
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  page.setDefaultNavigationTimeout(15_000);
  await page.setViewport({ width: 1280, height: 800 });
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  const requested = [];
  page.on('request', (r) => requested.push(r.url()));

  // 1. Not signed in: the sign-in page.
  await page.goto(`${base}/ui/alerts`, { waitUntil: 'load' });
  check(new URL(page.url()).pathname === '/ui/login', 'the console asks to sign in first', page.url());

  // 2. Sign in.
  await page.type('input[name=name]', user);
  await page.type('input[name=password]', password);
  const [list] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.click('form button[type=submit]'),
  ]);
  check(list.status() === 200 && new URL(page.url()).pathname === '/ui/alerts', 'signed in: the alert list', page.url());
  const cookies = typeof browser.cookies === 'function' ? await browser.cookies() : await page.cookies();
  const session = cookies.find((c) => c.name === 'ackbot_session');
  check(
    session && session.httpOnly && session.secure && session.sameSite === 'Strict' && session.path === '/ui',
    'the session is an HttpOnly, Secure, SameSite=Strict cookie for /ui',
    JSON.stringify(session),
  );
  const titles = await page.$$eval('td.title a', (as) => as.map((a) => a.textContent));
  check(titles.includes(title), 'the firing alert is listed, its title exactly as sent', titles.join(' | '));
  if (shots) await page.screenshot({ path: `${shots}/console-list-desktop.png`, fullPage: true });

  // 3. The same list on a phone.
  await page.setViewport({ width: 375, height: 740, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  await page.reload({ waitUntil: 'load' });
  const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  check(fits, 'the list fits a 375 px phone screen without sideways scrolling');
  if (shots) await page.screenshot({ path: `${shots}/console-list-phone.png`, fullPage: true });

  // 4. Open the alert, acknowledge it.
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('td.title a')]);
  const heading = await page.$eval('h1', (e) => e.textContent);
  check(heading.includes(title), 'the alert page shows its title', heading);
  const buttons = await page.$$eval('.actions button', (bs) => bs.map((b) => b.textContent));
  check(buttons.includes('Acknowledge'), 'an operator sees Acknowledge', buttons.join(', '));
  const ack = (await page.$$('.actions button'))[buttons.indexOf('Acknowledge')];
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), ack.click()]);
  const notice = await page.$eval('.msg', (e) => e.textContent);
  check(notice === 'Done.', 'the action says Done.', notice);
  const state = await page.$eval('h1 .state', (e) => e.textContent);
  check(state === 'acknowledged', 'the alert shows acknowledged', state);
  if (shots) await page.screenshot({ path: `${shots}/console-alert-phone.png`, fullPage: true });

  // 5. Sign out.
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('header form button')]);
  check(new URL(page.url()).pathname === '/ui/login', 'signed out: back to the sign-in page', page.url());

  check(requested.every((u) => u.startsWith(new URL(base).origin)), 'loads nothing from elsewhere', requested.join(' '));
  check(problems.length === 0, 'no console errors, CSP violations or failed requests', problems.join(' | '));
  console.log(`console: ${checks} checks passed`);
} finally {
  await browser.close();
  clearTimeout(deadline);
}
