// Logs in to Superset in headless Chromium, opens each dashboard, waits until its charts
// have drawn, and saves a full-page PNG plus one PNG per chart. Prints a JSON summary.
// Usage: node capture_dashboards.mjs <superset-url> <out-dir> <slug>...
// Credentials come from SUPERSET_USERNAME / SUPERSET_PASSWORD; the browser from CHROMIUM_PATH.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, outDir, ...slugs] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
const summary = {};
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1200 } });
  await page.goto(`${url}/login/`);
  await page.fill('#username', process.env.SUPERSET_USERNAME || 'admin');
  await page.fill('#password', process.env.SUPERSET_PASSWORD);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('button:has-text("Sign in")')]);

  for (const slug of slugs) {
    const folder = join(outDir, slug);
    mkdirSync(folder, { recursive: true });
    await page.goto(`${url}/superset/dashboard/${slug}/?standalone=1`);
    const holders = page.locator('.dashboard-component-chart-holder');
    await holders.first().waitFor({ timeout: 60000 });
    // Drawn = an ECharts canvas or SVG, a table, or a big number; and no spinner left.
    await page.waitForFunction(() => {
      const all = [...document.querySelectorAll('.dashboard-component-chart-holder')];
      return all.length > 0 && all.every((h) =>
        !h.querySelector('.loading, [data-test="loading-indicator"]') &&
        h.querySelector('canvas, svg, table, .header-line, [data-test="error-message"], .ant-alert'));
    }, null, { timeout: 90000 });
    await page.waitForTimeout(1500); // let ECharts finish its entry animation
    const charts = await holders.evaluateAll((all) => all.map((h) => ({
      title: (h.querySelector('[data-test="editable-title"], .header-title') || {}).innerText || '',
      drawn: Boolean(h.querySelector('canvas, table, .header-line')),
      empty: /No results were returned/.test(h.innerText),
      error: (h.querySelector('[data-test="error-message"], .ant-alert-error') || {}).innerText || null,
    })));
    const shots = [];
    for (let i = 0; i < charts.length; i++) {
      const file = join(folder, `chart-${String(i + 1).padStart(2, '0')}.png`);
      await holders.nth(i).screenshot({ path: file });
      shots.push(file);
    }
    // A viewport as tall as the page rather than fullPage: the sticky header would
    // otherwise be stamped over the middle of the image.
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.setViewportSize({ width: 1600, height });
    await page.waitForTimeout(1000);
    const dashboardShot = join(outDir, `${slug}.png`);
    await page.screenshot({ path: dashboardShot });
    await page.setViewportSize({ width: 1600, height: 1200 });
    summary[slug] = { screenshot: dashboardShot, charts, chart_screenshots: shots };
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(summary));
