// A person in a phone's in-app browser: open a signed action link, check the
// confirmation page, type a name, press the button, read the result; then open
// the link again (the name is remembered, the link is used up). run.sh starts
// ackbot, makes the link and checks the state through the API afterwards.
//
// Environment: LINK_URL, ALERT_TITLE, ACTOR_NAME, CHROMIUM (executable),
// CERT_SPKI (base64 SHA-256 of the server key, so Chromium trusts exactly the
// test's self-signed certificate), SCREENSHOT_DIR (optional).

import puppeteer from 'puppeteer-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const url = env('LINK_URL');
const title = env('ALERT_TITLE');
const name = env('ACTOR_NAME');
const shots = process.env.SCREENSHOT_DIR;

// The whole run is bounded, whatever hangs.
const deadline = setTimeout(() => {
  console.error('FAIL: the browser test did not finish within 90 s');
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
// Chromium's sandbox cannot start as root (CI runs as root).
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
  // A phone, as in Feishu/DingTalk/WeCom's in-app browser.
  await page.setViewport({ width: 375, height: 740, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  const requested = [];
  page.on('request', (r) => requested.push(r.url()));

  // 1. The confirmation page.
  const res = await page.goto(url, { waitUntil: 'load' });
  check(res.status() === 200, 'GET the link: 200', res.status());
  check(
    (res.headers()['content-security-policy'] || '').includes("default-src 'none'"),
    'served under the restrictive CSP',
  );
  const shown = await page.$eval('#alert-title', (e) => e.textContent);
  check(shown === title, 'the page shows the alert title (escaped, exactly as sent)', shown);
  const state = await page.$eval('#alert-state', (e) => e.textContent);
  check(state === 'firing', 'the page shows state firing', state);
  const button = await page.$eval('form button[type=submit]', (e) => e.textContent);
  check(button === 'Acknowledge', 'one button: Acknowledge', button);
  const prefilled = await page.$eval('#name', (e) => e.value);
  check(prefilled === '', 'the name field is empty on a first visit', prefilled);
  // Not innerWidth: a mobile layout viewport widens to fit what overflows.
  const fits = await page.evaluate(() => document.documentElement.scrollWidth <= 375);
  check(fits, 'fits a 375 px phone screen without sideways scrolling');
  check(
    requested.every((u) => u.startsWith(new URL(url).origin)),
    'loads nothing from elsewhere',
    requested.join(' '),
  );
  if (shots) await page.screenshot({ path: `${shots}/1-confirm.png`, fullPage: true });

  // 2. Type a name, press the button, read the result.
  await page.type('#name', name);
  const [done] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.click('form button[type=submit]'),
  ]);
  check(done.status() === 200, 'POST (the button): 200', done.status());
  const said = await page.$eval('#result', (e) => e.textContent);
  check(said.startsWith('Acknowledged [') && said.includes(`(${name})`), 'the result says acknowledged, by the name typed', said);
  const after = await page.$eval('#alert-state', (e) => e.textContent);
  check(after === `acknowledged by ${name}`, 'the result page shows the new state', after);
  const cookies = typeof browser.cookies === 'function' ? await browser.cookies() : await page.cookies();
  const remembered = cookies.find((c) => c.name === 'ackbot_name');
  check(
    remembered && remembered.httpOnly && remembered.secure && remembered.path === '/a' && remembered.sameSite === 'Lax',
    'the name is remembered in an HttpOnly, Secure, SameSite=Lax cookie for /a',
    JSON.stringify(remembered),
  );
  if (shots) await page.screenshot({ path: `${shots}/2-result.png`, fullPage: true });

  // 3. The same link again: the name is pre-filled, and the link is used up.
  await page.goto(url, { waitUntil: 'load' });
  const again = await page.$eval('#name', (e) => e.value);
  check(again === name, 'opened again, the name field is pre-filled from the cookie', again);
  const [used] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.click('form button[type=submit]'),
  ]);
  const usedText = await page.$eval('main', (e) => e.textContent);
  check(used.status() === 410 && usedText.includes('already used'), 'pressing it again: 410, "already used"', `${used.status()} ${usedText}`);
  if (shots) await page.screenshot({ path: `${shots}/3-used.png`, fullPage: true });

  // Chromium logs the 410 of step 3 as a failed resource: that one is expected.
  const unexpected = problems.filter((p) => !/status of 410\b/.test(p));
  check(unexpected.length === 0, 'no console errors, CSP violations or failed requests', unexpected.join(' | '));
  console.log(`browser: ${checks} checks passed`);
} finally {
  await browser.close();
  clearTimeout(deadline);
}
