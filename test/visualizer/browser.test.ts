import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.ts';
import { startTestGateway } from '../helpers/gateway.ts';

// The callbacks given to page.evaluate run in the page: its globals, typed loosely here (the
// project's type-check has no DOM library).
declare const document: any;
declare function getComputedStyle(e: any): any;
type Element = any;
type HTMLElement = any;

/** Debian's Chromium (.ci/run installs it); the browser tests need it and fail loudly without it. */
const CHROMIUM = process.env.PARROT_CHROMIUM ?? '/usr/bin/chromium';
/** Fresh screenshots of each page (gitignored); docs/screenshots/ keeps the ones the docs show. */
export const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
const MODEL = 'gpt-4-turbo-preview';

let gw: RunningGateway;
let browser: Browser;

/** One chat request through the gateway (fails over to anthropic while openai is faulted). */
async function chat(model = MODEL): Promise<number> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Sends requests one after another until `done()` or `limitMs`, at most 400 of them. */
async function traffic(done: () => Promise<boolean>, limitMs: number, model = MODEL): Promise<number> {
  const deadline = Date.now() + limitMs;
  let sent = 0;
  while (Date.now() < deadline && sent < 400) {
    await chat(model);
    sent++;
    if (await done()) return sent;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`not done within ${limitMs} ms (${sent} requests)`);
}

const active = (page: Page, state: string) => page.locator(`g.state.active[data-state-id="breaker.${state}"]`);

describe('the visualizer in a real browser', () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    gw = await startTestGateway({
      chaos: { enabled: true },
      resilience: {
        failover: { providers: ['openai', 'anthropic', 'google'] },
        breaker: { error_threshold: 2, timeout: 30 },
        breaker_probe_interval_ms: 300,
      },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('draws the breaker, injects a fault from the chaos panel, and follows the breaker closed -> open -> closed', async () => {
    // The target's breaker is spawned by its first request.
    expect(await chat()).toBe(200);
    const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${gw.url}/visualizer`);
    await page.getByText('live', { exact: true }).waitFor({ timeout: 5_000 });
    const breakerButton = page.locator(`#actors button[data-actor^="breaker:openai/${MODEL}"]`);
    await breakerButton.click();
    await active(page, 'closed').waitFor({ timeout: 5_000 });
    // Every transition of the breaker's definition is drawn, labelled with its guard or delay.
    await expect(page.locator('g.edge text', { hasText: 'OUTCOME [failureTrips]' }).count()).resolves.toBe(1);
    await expect(page.locator('g.edge text', { hasText: 'after openTimeout' }).count()).resolves.toBe(1);

    // The chaos panel: openai answers 500s in its own error shape for 3 s.
    await page.selectOption('#ch-target', 'openai');
    await page.selectOption('#ch-fault', 'server_error');
    await page.fill('#ch-seconds', '3');
    await page.click('#inject');
    await page.getByText(/injected server_error into openai/).waitFor({ timeout: 2_000 });

    // When the server published the breaker's opening, and when the page drew it.
    let openedAt = 0;
    const sub = gw.hub.transitions$.subscribe((t) => {
      if (openedAt === 0 && t.systemId?.startsWith(`breaker:openai/${MODEL}`) && t.state === 'open') openedAt = t.at;
    });
    await page.evaluate(() => {
      const w = globalThis as any;
      w.__drawnOpenAt = 0;
      new w.MutationObserver(() => {
        if (!w.__drawnOpenAt && document.querySelector('g.state.active[data-state-id="breaker.open"]')) w.__drawnOpenAt = Date.now();
      }).observe(document.getElementById('chart'), { subtree: true, attributes: true, attributeFilter: ['class'] });
    });
    // Traffic fails over to anthropic; the highlight moves to open within 2 s of the breaker opening.
    const opened = Date.now();
    await traffic(async () => (await gw.runtime.targets.byKey(`openai/${MODEL}`).toJSON()).breakers.some((b) => b.status === 'open'), 5_000);
    await active(page, 'open').waitFor({ timeout: 2_000 });
    expect(Date.now() - opened).toBeLessThan(5_000);
    await expect(active(page, 'closed').count()).resolves.toBe(0);
    sub.unsubscribe();
    const drawnAt = (await page.evaluate(() => (globalThis as any).__drawnOpenAt)) as number;
    // The same machine's clock: from the transition to the page's highlight.
    expect(openedAt).toBeGreaterThan(0);
    expect(drawnAt - openedAt, `drawn ${drawnAt - openedAt} ms after the transition`).toBeGreaterThanOrEqual(0);
    expect(drawnAt - openedAt).toBeLessThan(100);
    // The event log shows the transition that opened it.
    await page.locator('#log tr', { hasText: 'OUTCOME' }).filter({ hasText: 'open' }).first().waitFor({ timeout: 2_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'visualizer-breaker-open.png') });

    // After the fault lapses a recovery probe half-opens it and trial requests close it.
    await traffic(async () => (await active(page, 'closed').count()) === 1, 15_000);
    await page.screenshot({ path: join(ARTIFACTS, 'visualizer-breaker-closed.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 40_000);

  it('follows one request that failed over as a timeline', async () => {
    const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
    await page.goto(`${gw.url}/visualizer`);
    await page.getByText('live', { exact: true }).waitFor({ timeout: 5_000 });
    const res = await fetch(`${gw.url}/admin/chaos`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ target: `openai/${MODEL}`, fault: 'rate_limit', requests: 1 }) });
    expect(res.status).toBe(201);
    expect(await chat()).toBe(200);
    await page.fill('#filter', 'failover');
    await page.locator('#actors button').first().click();
    await page.locator('#timeline li.fail', { hasText: `openai/${MODEL} failed: rate_limit` }).waitFor({ timeout: 3_000 });
    await page.locator('#timeline li.ok', { hasText: 'succeeded' }).waitFor({ timeout: 3_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'visualizer-request-timeline.png') });
    await page.close();
  }, 20_000);

  it('the status page shows each provider and model live, their uptime, and the incident a fault opens', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`${gw.url}/status`);
    await page.locator('#overall.operational').waitFor({ timeout: 5_000 });
    for (const p of ['openai', 'anthropic', 'google']) await page.locator('#providers th', { hasText: p }).waitFor();
    await expect(page.locator(`tr[data-model="openai/${MODEL}"] td`).nth(2).textContent()).resolves.toBe('healthy');
    // /v1/uptime, /v1/health and /v1/incidents feed the rest of the page.
    for (const p of ['openai', 'anthropic', 'google']) await page.locator('#uptime h3', { hasText: `${p}: 100%` }).waitFor({ timeout: 5_000 });
    await page.locator('#charts svg').first().waitFor({ timeout: 5_000 });
    // (Earlier tests here opened breakers: the history may hold their incidents already.)
    await page.locator('#incidents li:not(.na)').first().waitFor({ timeout: 5_000 });
    // Google overloaded: its breaker opens, the page follows the actors within its refresh, and
    // the incident the recorder opens appears in the timeline.
    await fetch(`${gw.url}/admin/chaos`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ target: 'google', fault: 'model_overloaded', duration_s: 30 }) });
    const row = page.locator('tr[data-model="google/gemini-pro"]');
    await traffic(async () => (await row.locator('td.s-open').count()) === 1, 8_000, 'gemini-pro');
    await expect(row.locator('td').nth(3).textContent()).resolves.toBe('open');
    await page.locator('#incidents li[data-incident]', { hasText: 'google' }).waitFor({ timeout: 8_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'status.png'), fullPage: true });
    await page.close();
  }, 30_000);

  it('pages have labels, keyboard focus and readable contrast', async () => {
    for (const path of ['/visualizer', '/status']) {
      const page = await browser.newPage();
      await page.goto(`${gw.url}${path}`);
      await page.waitForLoadState('networkidle').catch(() => {});
      const report = await page.evaluate(() => {
        const unlabelled = [...document.querySelectorAll('input, select')].filter((e) => {
          const id = e.getAttribute('id');
          return !(id && document.querySelector(`label[for="${id}"]`)) && !e.getAttribute('aria-label');
        }).map((e) => e.outerHTML);
        // WCAG relative luminance contrast of every text element against its background.
        const lum = (c: string): number => {
          const [r, g, b] = (c.match(/\d+(\.\d+)?/g) ?? ['0', '0', '0']).slice(0, 3).map(Number).map((v) => {
            const s = v / 255;
            return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
          });
          return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        };
        const bgOf = (e: Element | null): string => {
          for (; e; e = e.parentElement) {
            const bg = getComputedStyle(e).backgroundColor;
            if (bg && !bg.startsWith('rgba(0, 0, 0, 0)') && bg !== 'transparent') return bg;
          }
          return 'rgb(255, 255, 255)';
        };
        const low: string[] = [];
        for (const e of document.querySelectorAll('h1, h2, h3, label, p, td, th, button, a, li')) {
          if (!(e as HTMLElement).innerText?.trim() || (e as HTMLElement).offsetParent === null) continue;
          const a = lum(getComputedStyle(e).color);
          const b = lum(bgOf(e));
          const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
          if (ratio < 4.5) low.push(`${e.tagName} "${(e as HTMLElement).innerText.slice(0, 30)}" ${ratio.toFixed(2)}`);
        }
        return { unlabelled, low, lang: document.documentElement.lang, title: document.title };
      });
      expect(report.unlabelled).toEqual([]);
      expect(report.low).toEqual([]);
      expect(report.lang).toBe('en');
      expect(report.title).toMatch(/parrot/);
      await page.close();
    }
    // Keyboard: Tab walks the visualizer's controls in order, and an actor is chosen with Enter.
    const page = await browser.newPage();
    await page.goto(`${gw.url}/visualizer`);
    await page.getByText('live', { exact: true }).waitFor({ timeout: 5_000 });
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      seen.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName || ''));
    }
    expect(seen).toEqual(['A', 'filter', 'BUTTON', 'BUTTON']);
    await page.keyboard.press('Enter');
    await page.locator('#actors button[aria-current="true"]').waitFor({ timeout: 5_000 });
    await page.close();
  }, 40_000);
});
