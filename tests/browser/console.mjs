// A person on call in the web console, on a desktop and on a phone: sign in,
// see the firing alert (its title escaped, exactly as sent), open it,
// acknowledge it, silence it from a previewed silence, retry the delivery the
// platform refused, look at the overview's pictures, sign out; a form without
// its CSRF token is refused; a viewer sees but cannot act. run.sh starts
// ackbot with an operator and a viewer in [[ui.users]] and a webhook channel
// whose platform answers 400, posts the alert and checks the state through
// the API afterwards.
//
// Environment: BASE_URL, ALERT_TITLE, UI_USER, UI_PASSWORD, UI_VIEWER,
// UI_VIEWER_PASSWORD, CHROMIUM, CERT_SPKI (as in click.mjs), SCREENSHOT_DIR
// (optional: the alert list at 375 px and 1280 px, the alert page, the
// overview at both widths).

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
const viewer = env('UI_VIEWER');
const viewerPassword = env('UI_VIEWER_PASSWORD');
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

/** Signs in on the sign-in page; returns the response it lands on. */
async function signIn(page, name, secret) {
  if (new URL(page.url()).pathname !== '/ui/login') {
    await page.goto(`${base}/ui/login`, { waitUntil: 'load' });
  }
  await page.type('input[name=name]', name);
  await page.type('input[name=password]', secret);
  const [landed] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.click('form button[type=submit]'),
  ]);
  return landed;
}

/**
 * Submits a form the page does not have (the CSP allows no fetch): POST
 * `fields` to `path`; the status of the answer.
 */
async function post(page, path, fields) {
  const [res] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.evaluate(
      (p, f) => {
        const form = document.createElement('form');
        form.method = 'post';
        form.action = p;
        for (const [k, v] of Object.entries(f)) {
          const input = document.createElement('input');
          input.type = 'hidden';
          input.name = k;
          input.value = v;
          form.append(input);
        }
        document.body.append(form);
        form.submit();
      },
      path,
      fields,
    ),
  ]);
  return res.status();
}

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
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${new URL(r.url()).pathname}`);
  });
  const requested = [];
  page.on('request', (r) => requested.push(r.url()));

  // 1. Not signed in: the sign-in page.
  await page.goto(`${base}/ui/alerts`, { waitUntil: 'load' });
  check(new URL(page.url()).pathname === '/ui/login', 'the console asks to sign in first', page.url());

  // 2. Sign in.
  const list = await signIn(page, user, password);
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
  const fits = await page.evaluate(() => document.documentElement.scrollWidth <= 375);
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
  const alertFits = await page.evaluate(() => document.documentElement.scrollWidth <= 375);
  check(alertFits, 'the alert page, with the platform\'s answer, fits a 375 px phone screen');
  if (shots) await page.screenshot({ path: `${shots}/console-alert-phone.png`, fullPage: true });
  const alertPath = new URL(page.url()).pathname;

  // 5. A form without its CSRF token changes nothing.
  const forged = await post(page, `${alertPath}/unack`, { csrf: 'forged' });
  check(forged === 403, 'a form without its CSRF token is refused (403)', String(forged));
  await page.goto(`${base}${alertPath}`, { waitUntil: 'load' });
  const still = await page.$eval('h1 .state', (e) => e.textContent);
  check(still === 'acknowledged', 'and the alert is still acknowledged', still);

  // 6. A silence from the preview of what it would match.
  await page.goto(`${base}/ui/silences`, { waitUntil: 'load' });
  await page.type('textarea[name=matchers]', 'service="payment"');
  await page.type('input[name=comment]', 'maintenance window');
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('form[method=get] button')]);
  const previewed = await page.$$eval('main ul li a', (as) => as.map((a) => a.textContent));
  check(previewed.includes(title), 'the preview lists the alert the silence would match', previewed.join(' | '));
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('form[method=post][action="/ui/silences"] button')]);
  const created = await page.$eval('.msg', (e) => e.textContent);
  const matchers = await page.$$eval('td code', (cs) => cs.map((c) => c.textContent));
  check(created === 'Done.' && matchers.includes('service="payment"'), 'the silence is created and listed', `${created} ${matchers.join(' ')}`);

  // 7. The delivery the platform refused: listed with its answer, retried.
  let refused = false;
  for (let i = 0; i < 50 && !refused; i += 1) {
    await page.goto(`${base}/ui/deliveries`, { waitUntil: 'load' });
    refused = (await page.content()).includes('robot disabled by admin');
    if (!refused) await new Promise((r) => setTimeout(r, 200));
  }
  check(refused, "the failed delivery is listed with the platform's answer");
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.click('form[action*="/deliveries/"] button'),
  ]);
  const retried = await page.$eval('.msg', (e) => e.textContent);
  check(retried === 'Done.', 'the retry is accepted', retried);

  // 8. The overview's pictures, on a phone and a desktop.
  await page.goto(`${base}/ui/overview`, { waitUntil: 'load' });
  const bars = await page.$$eval('svg.chart rect', (rs) => rs.map((r) => r.getAttribute('class')));
  check(bars.includes('b-critical'), 'the overview draws this hour\'s critical alerts', bars.join(' '));
  const channel = await page.$$eval('td', (ts) => ts.map((t) => t.textContent));
  check(channel.includes('refuser'), 'channel health lists the channel', channel.join(' | '));
  const overviewFits = await page.evaluate(() => document.documentElement.scrollWidth <= 375);
  check(overviewFits, 'the overview fits a 375 px phone screen');
  if (shots) await page.screenshot({ path: `${shots}/console-overview-phone.png`, fullPage: true });
  await page.setViewport({ width: 1280, height: 800 });
  await page.reload({ waitUntil: 'load' });
  if (shots) await page.screenshot({ path: `${shots}/console-overview-desktop.png`, fullPage: true });

  // 9. Sign out.
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('header form button')]);
  check(new URL(page.url()).pathname === '/ui/login', 'signed out: back to the sign-in page', page.url());

  // 10. A viewer sees the alert but no buttons, and cannot act even with
  // its own valid CSRF token.
  await signIn(page, viewer, viewerPassword);
  await page.goto(`${base}${alertPath}`, { waitUntil: 'load' });
  const viewerButtons = await page.$$('.actions button');
  check(viewerButtons.length === 0, 'a viewer sees no action buttons');
  const token = await page.$eval('input[name=csrf]', (i) => i.value);
  const asViewer = await post(page, `${alertPath}/resolve`, { csrf: token });
  check(asViewer === 403, 'a viewer cannot act (403)', String(asViewer));
  await page.goto(`${base}/ui/deliveries`, { waitUntil: 'load' });
  const retryButtons = await page.$$('form[action*="/retry"] button');
  check(retryButtons.length === 0, 'a viewer sees no retry buttons');
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('header form button')]);

  check(requested.every((u) => u.startsWith(new URL(base).origin)), 'loads nothing from elsewhere', requested.join(' '));
  // The refusals provoked on purpose above are logged by Chromium as
  // failed resources; nothing else may be.
  const unexpected = problems.filter((p) => !p.includes('status of 403') && !p.startsWith('HTTP 403 '));
  check(unexpected.length === 0, 'no console errors, CSP violations or failed requests', unexpected.join(' | '));
  console.log(`console: ${checks} checks passed`);
} finally {
  await browser.close();
  clearTimeout(deadline);
}
