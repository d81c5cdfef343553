/* global document -- evaluated in the page, not in Node */
// Phase 1: the packaged extension in a fresh code-server, the real workbench in headless Chromium.
// Two concurrent streams go through the proxy while the status bar and the panel's live rows are
// read; then the breakdown, the throttle section after a 429, the panel restored after a reload,
// and screenshots in the dark and the light theme.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { installVsix, portAccepts, startCodeServer, waitFor, workbenchUrl } from '../harness/codeServer.mjs';
import { assert, check, phase, phaseFailed, post, settled, throttleScript, tokPerSec, twoStreams, watchCsp } from './lib.mjs';

const MODELS = { openai: 'gpt-e2e-live', anthropic: 'claude-e2e-live' };

/** The frame that runs the panel (a webview is two iframes deep). */
async function panelFrame(page) {
  return waitFor('the metrics panel webview frame', async () => {
    for (const f of page.frames()) {
      if (await f.evaluate(() => document.querySelector('#breakdown') !== null).catch(() => false)) {
        return f;
      }
    }
    return undefined;
  }, { timeoutMs: 30_000, intervalMs: 200 });
}

async function runCommand(page, title) {
  // Keys typed while a webview has focus stay in its iframe: give the workbench the focus first.
  await page.locator('.part.sidebar .composite.title').first().click();
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(`>${title}`);
  const entry = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await entry.waitFor({ state: 'visible', timeout: 10_000 }).catch(() => {
    throw new Error(`timed out after 10000 ms waiting for "${title}" in the command palette`);
  });
  // Clicked, not Enter: a recently used command may be listed (and selected) first.
  await entry.click();
}

/** Picks a colour theme the way a user does: Preferences: Color Theme, then its name. */
async function setTheme(page, theme) {
  await runCommand(page, 'Preferences: Color Theme');
  // The theme picker replaces the command palette in the same widget: wait for its list first.
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Dark Modern' }).first().waitFor({ timeout: 10_000 });
  const input = page.locator('.quick-input-widget input.input');
  await input.fill(theme);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: theme }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
}

export async function workbenchPhase({ browser, pkgDir, vsix, tmp, upstream, proxyPort, resultsDir, cleanups }) {
  phase('VS Code (code-server 4.100.3) with the packaged extension');
  const extensionsDir = path.join(tmp, 'extensions');
  const userDataDir = path.join(tmp, 'user-data');
  const proxyUrl = `http://127.0.0.1:${proxyPort}`;
  const shot = (name) => path.join(resultsDir, name);

  await check('the .vsix installs into a fresh extensions dir', async () => {
    const out = await installVsix(pkgDir, vsix, extensionsDir, { userDataDir: path.join(tmp, 'install-profile') });
    const installed = (await fs.readdir(extensionsDir)).filter((d) => d.startsWith('tokenmeter.tokenmeter-'));
    assert(installed.length === 1, `expected tokenmeter.tokenmeter-* in ${extensionsDir}, found ${JSON.stringify(installed)}; installer said: ${out}`);
  });

  const codeServer = await check('code-server starts with the extension and test settings', () =>
    startCodeServer({
      pkgDir,
      userDataDir,
      extensionsDir,
      workspace: path.join(tmp, 'workspace'),
      colorTheme: 'Default Dark Modern',
      settings: {
        'tokenmeter.proxy.port': proxyPort,
        'tokenmeter.providers': { openai: { baseUrl: upstream.url, api: 'openai' }, anthropic: { baseUrl: upstream.url, api: 'anthropic' } },
      },
    }),
  );
  if (!codeServer) {
    return;
  }
  cleanups.push(() => codeServer.stop());

  const context = await browser.newContext({ viewport: { width: 1440, height: 1300 } });
  cleanups.push(() => context.close());
  const page = await context.newPage();
  page.on('pageerror', (err) => console.log(`    [page error] ${err.message}`));
  const csp = watchCsp(page);
  const statusBar = page.locator('#workbench\\.parts\\.statusbar');
  // VS Code renders an extension's item with the id `<extension id>.<item id>`.
  const item = statusBar.locator('.statusbar-item[id$="tokenmeter.status"]').first();

  await check('the workbench shows the Tokenmeter status bar item', async () => {
    await page.goto(workbenchUrl(codeServer), { waitUntil: 'domcontentloaded', timeout: 60_000 });
    await item.waitFor({ state: 'visible', timeout: 60_000 }).catch(() => {
      throw new Error('timed out after 60000 ms waiting for the status bar item tokenmeter.status');
    });
    assert(/tok\/s/.test(await item.innerText()), `status bar item reads "${await item.innerText()}"`);
  });

  await check(`the proxy listens on the configured port ${proxyPort}`, () =>
    waitFor(`the proxy on 127.0.0.1:${proxyPort}`, () => portAccepts(proxyPort), { timeoutMs: 30_000, intervalMs: 200 }),
  );

  let frame;
  await check('"Tokenmeter: Open Metrics Panel" shows the empty state with how to connect tools', async () => {
    await page.locator('.monaco-workbench').click({ position: { x: 700, y: 400 } });
    await runCommand(page, 'Tokenmeter: Open Metrics Panel');
    frame = await panelFrame(page);
    const empty = frame.locator('#empty-state');
    await empty.waitFor({ state: 'visible', timeout: 10_000 });
    const text = await empty.innerText();
    assert(text.includes('No requests yet') && text.includes(`ANTHROPIC_BASE_URL=${proxyUrl}`), `empty state reads: ${text.slice(0, 300)}`);
    await page.screenshot({ path: shot('panel-empty-dark.png') });
  });

  await check('two concurrent streams: the status bar shows "… tok/s ×2" and the panel two live rows', async () => {
    const done = twoStreams(upstream, proxyUrl, MODELS);
    const live = await waitFor('"tok/s ×2" in the status bar', async () => {
      const t = await item.innerText({ timeout: 2000 });
      return /tok\/s ×2/.test(t) && (tokPerSec(t) ?? 0) > 0 ? t : undefined;
    }, { timeoutMs: 10_000, intervalMs: 100 });
    const rows = frame.locator('#active-rows tr[data-id]');
    await waitFor('two live rows', async () => (await rows.count()) === 2, { timeoutMs: 10_000 });
    const providers = (await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.provider))).sort();
    assert(JSON.stringify(providers) === '["anthropic","openai"]', `live rows: ${providers}`);
    const firstRow = await rows.first().innerText();
    await waitFor('a live tokens/s value in a row', async () => /\d/.test((await rows.first().locator('td').nth(4).innerText()) ?? ''), { timeoutMs: 5000 });
    console.log(`    status bar while streaming: "${live.trim()}"; a live row: ${JSON.stringify(firstRow)}`);
    await statusBar.screenshot({ path: shot('statusbar-live-dark.png') });
    await page.screenshot({ path: shot('panel-live-dark.png') });
    const bodies = await done;
    assert(bodies.every((b) => b.length > 0), 'a stream came back empty');
  });

  await check('after the streams: the last request\'s tok/s, no live rows, both requests in recent', async () => {
    const text = await waitFor('a tok/s number without ×', async () => {
      const t = await item.innerText({ timeout: 2000 });
      return !/×/.test(t) && (tokPerSec(t) ?? 0) > 0 ? t : undefined;
    }, { timeoutMs: 10_000 });
    await frame.locator('#active-rows tr[data-id]').first().waitFor({ state: 'detached', timeout: 5000 });
    for (const m of Object.values(MODELS)) {
      await frame.locator(`#recent-rows tr[data-model="${m}"]`).waitFor({ timeout: 5000 });
    }
    console.log(`    status bar after: "${text.trim()}"`);
  });

  await check('the breakdown lists both providers and, expanded, their models', async () => {
    for (const [provider, model] of Object.entries(MODELS)) {
      const row = frame.locator(`#breakdown-grid [role="row"][aria-level="1"][data-provider="${provider}"]`);
      await row.waitFor({ timeout: 5000 });
      if ((await row.getAttribute('aria-expanded')) !== 'true') {
        await row.click();
      }
      const modelRow = frame.locator(`#breakdown-grid [role="row"][data-model="${model}"]`);
      await modelRow.waitFor({ timeout: 5000 });
      const cells = await modelRow.locator('[role="gridcell"]').allInnerTexts();
      assert(cells[1] === '1', `${model}: requests cell reads ${cells[1]} (${cells.join(' | ')})`);
      assert(cells.slice(8, 10).every((c) => /\d/.test(c)), `${model}: TTFT cells ${cells.slice(8, 10)}`);
    }
  });

  await check('a 429 with subscription headers: warning background, throttle section, 5-hour headroom', async () => {
    upstream.next(throttleScript());
    const res = await post(`${proxyUrl}/anthropic/v1/messages`, { model: MODELS.anthropic, max_tokens: 10, messages: [{ role: 'user', content: 'again' }] });
    assert(res.status === 429, `proxy answered ${res.status}`);
    await res.text();
    await waitFor('the warning background on the item', async () => /warning-kind/.test((await item.getAttribute('class')) ?? ''), { timeoutMs: 5000 });
    await waitFor('"Throttled now: anthropic"', async () => /Throttled now: anthropic/.test(await frame.locator('#throttle-status').innerText()), { timeoutMs: 5000 });
    const fiveHour = frame.locator('#headroom-rows tr[data-provider="anthropic"][data-window="unified-5h"]');
    await fiveHour.waitFor({ timeout: 5000 });
    const cells = await fiveHour.locator('td').allInnerTexts();
    assert(cells[3] === '97%' && /^in 2h/.test(cells[4]), `5-hour row: ${cells.join(' | ')}`);
    await frame.locator('#throttle-rows tr[data-provider="anthropic"]').first().waitFor({ timeout: 5000 });
    await statusBar.screenshot({ path: shot('statusbar-throttled-dark.png') });
  });

  await check('the client\'s retry ends the throttle and its wait is recorded', async () => {
    // The answer to the retry reports the 5-hour window with room again, as Anthropic's would.
    upstream.next({ chunks: ['ok'], headers: { 'anthropic-ratelimit-unified-5h-utilization': '0.55', 'anthropic-ratelimit-unified-7d-utilization': '0.42' } });
    await (await post(`${proxyUrl}/anthropic/v1/messages`, { model: MODELS.anthropic, max_tokens: 10, messages: [{ role: 'user', content: 'again' }] })).text();
    await waitFor('the warning to clear', async () => !/warning-kind/.test((await item.getAttribute('class')) ?? ''), { timeoutMs: 5000 });
    await waitFor('a recorded wait for anthropic', async () => /anthropic \d/.test(await frame.locator('#throttle-waits').innerText()), { timeoutMs: 5000 });
    await settled(frame);
    await page.screenshot({ path: shot('panel-dark.png') });
  });

  await check('the light theme: the panel follows it', async () => {
    await setTheme(page, 'Light Modern');
    await waitFor('the webview body to turn vscode-light', () => frame.evaluate(() => document.body.classList.contains('vscode-light')), { timeoutMs: 15_000 });
    await settled(frame);
    await page.waitForTimeout(300); // the charts redraw with the theme's colours
    await page.screenshot({ path: shot('panel-light.png') });
    await statusBar.screenshot({ path: shot('statusbar-light.png') });
  });

  await check('keyboard: the breakdown tree is navigable with arrow keys', async () => {
    const rows = frame.locator('#breakdown-grid [role="rowgroup"] + [role="rowgroup"] [role="row"]');
    await rows.first().focus();
    await page.keyboard.press('ArrowDown');
    const focused = await frame.evaluate(() => document.activeElement?.getAttribute('aria-level'));
    assert(focused === '1', `focus moved to a level-${focused} row`);
  });

  await check('after a window reload the panel is restored (serializer) with its view, and history fills "Today"', async () => {
    await frame.locator('#chart-range').selectOption('today');
    await page.waitForTimeout(1200); // the webview saves its state a second after a change
    // The user's way (it saves the workbench's state before reloading, as a desktop window does).
    await runCommand(page, 'Developer: Reload Window');
    await page.waitForEvent('load', { timeout: 30_000 });
    // A reload restarts the extension host: a new session, but the panel comes back by itself.
    const restored = await panelFrame(page);
    const range = await restored.locator('#chart-range').inputValue();
    assert(range === 'today', `restored range ${range}`);
    await restored.locator('#chart-tps canvas').first().waitFor({ timeout: 30_000 });
    const legend = await restored.locator('#charts').innerText();
    assert(legend.includes(MODELS.openai) && legend.includes(MODELS.anthropic), `today's chart from history lacks the requests: ${legend.slice(0, 300)}`);
    await page.screenshot({ path: shot('panel-restored.png') });
    frame = restored;
  });

  await check('no Content Security Policy violation in the workbench or the panel', async () => {
    assert(csp.length === 0, `violations:\n${csp.join('\n')}`);
  });

  if (phaseFailed()) {
    await page.screenshot({ path: shot('e2e-failure.png'), timeout: 10_000 }).then(() => console.log(`  screenshot of the failure: ${shot('e2e-failure.png')}`), () => undefined);
    await fs.copyFile(codeServer.logFile, shot('e2e-code-server.log')).then(() => console.log(`  code-server log: ${shot('e2e-code-server.log')}`), () => undefined);
  }
}
