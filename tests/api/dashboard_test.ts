/**
 * The dashboard in a real browser (headless Debian Chromium through playwright-core) against a
 * real server over a SQLite database, used as an administrator would: sign in, read the health,
 * create and verify a backup while its progress shows, read the chart, preview and apply a
 * cleanup, be refused a restore without the right confirmation, restore with it, use it on a
 * phone, and sign in as a viewer. No console error, no request to another host.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { type ApiFixture, startApiFixture } from "../helpers/api_server.ts";
import { launchBrowser, type TestBrowser } from "../helpers/browser.ts";
import { countRows, sha256File } from "../helpers/workspace.ts";

// The page's globals, for the functions that run in the browser: this file is type-checked
// without the DOM library (adding it would change every file's globals), so only what they use.
interface PageElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  querySelector(selector: string): PageElement | null;
}
declare const document: {
  documentElement: { scrollWidth: number };
  getElementById(id: string): PageElement | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
};
declare const innerWidth: number;
declare class MutationObserver {
  constructor(callback: () => void);
  observe(target: PageElement, options: { childList: boolean; subtree: boolean }): void;
}

const SCREENSHOTS = new URL("../../.test-results/screenshots/", import.meta.url);

/** Network errors the test provokes on purpose: a wrong token, a refused restore, a viewer. */
const PROVOKED = /^Failed to load resource: the server responded with a status of 40[013] /;

interface BackupJson {
  id: string;
  type: string;
  description: string | null;
}

async function backupsOf(api: ApiFixture): Promise<BackupJson[]> {
  const response = await api.request("/api/v1/backups");
  assert.equal(response.status, 200);
  return (await response.json()).backups;
}

async function jobsOf(api: ApiFixture): Promise<{ kind: string; state: string }[]> {
  return (await (await api.request("/api/v1/jobs")).json()).jobs;
}

/** Waits until the table lists exactly `ids`, in this order. */
async function waitForRows(page: Page, ids: string[]): Promise<void> {
  await page.waitForFunction(
    (expected) =>
      JSON.stringify(
        [...document.querySelectorAll("#backups tr[data-backup-id]")].map((row) =>
          row.dataset.backupId
        ),
      ) === JSON.stringify(expected),
    ids,
  );
}

/** Waits for the newest job of `kind` in the jobs list to end; answers its state and outcome. */
async function waitForJob(page: Page, kind: string): Promise<{ state: string; outcome: string }> {
  const job = page.locator(`#jobs [data-testid="job"][data-kind="${kind}"]`).first();
  await job.waitFor();
  await page.waitForFunction(
    (k) => {
      const item = document.querySelector(`#jobs [data-kind="${k}"]`);
      return item !== null && item.dataset.state !== "running";
    },
    kind,
  );
  return {
    state: (await job.getAttribute("data-state")) ?? "",
    outcome: (await job.locator('[data-testid="job-outcome"]').textContent()) ?? "",
  };
}

/** Records whether a running job's progress element was ever on the page. */
function watchProgress(page: Page): Promise<void> {
  return page.evaluate(() => {
    const seen = globalThis as unknown as { sawProgress: string[] };
    seen.sawProgress = [];
    const look = () => {
      for (const item of document.querySelectorAll('#jobs [data-testid="job"]')) {
        if (item.querySelector('[data-testid="job-progress"]')) {
          seen.sawProgress.push(`${item.dataset.kind} ${item.textContent}`);
        }
      }
    };
    new MutationObserver(look).observe(document.getElementById("jobs")!, {
      childList: true,
      subtree: true,
    });
  });
}

/** What a page did that a test checks at the end. */
interface Watched {
  consoleErrors: string[];
  pageErrors: string[];
  requests: string[];
}

/** Records console errors (but {@linkcode PROVOKED}), uncaught errors and every request. */
function watch(page: Page): Watched {
  const watched: Watched = { consoleErrors: [], pageErrors: [], requests: [] };
  page.on("console", (message) => {
    if (message.type() === "error" && !PROVOKED.test(message.text())) {
      watched.consoleErrors.push(message.text());
    }
  });
  page.on("pageerror", (error) => watched.pageErrors.push(error.message));
  page.on("request", (request) => watched.requests.push(request.url()));
  return watched;
}

/** No console error, no uncaught error, no request to another host, no token in a URL. */
function assertClean(watched: Watched, api: ApiFixture): void {
  assert.deepEqual(watched.pageErrors, []);
  assert.deepEqual(watched.consoleErrors, []);
  const origin = new URL(api.url).origin;
  const elsewhere = watched.requests.filter((url) =>
    !url.startsWith("data:") && new URL(url).origin !== origin
  );
  assert.deepEqual(elsewhere, []);
  assert.ok(watched.requests.length > 0);
  for (const token of [api.adminToken, api.viewerToken]) {
    assert.ok(watched.requests.every((url) => !url.includes(token)), "a token in a URL");
  }
}

async function signIn(page: Page, api: ApiFixture, token: string, role: string): Promise<void> {
  await page.goto(`${api.url}/`);
  await page.fill("#token", token);
  await page.click("#sign-in");
  await page.waitForFunction(
    (expected) => document.getElementById("whoami")?.textContent === expected,
    `Signed in as ${role}`,
  );
}

/** Saves the whole page (or, with `fullPage: false`, the viewport) under `.test-results/`. */
async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  await Deno.mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: new URL(name, SCREENSHOTS).pathname, fullPage });
}

Deno.test("the dashboard works in a real browser, as an administrator uses it", async (t) => {
  let api: ApiFixture | undefined;
  let browser: TestBrowser | undefined;
  try {
    api = await startApiFixture({ backups: 2, config: { retention: { keepLast: 2 } } });
    browser = await launchBrowser();
    const { page } = browser;
    const fixture = api;
    const watched = watch(page);
    await page.setViewportSize({ width: 1280, height: 900 });
    const initial = (await backupsOf(api)).map((b) => b.id);
    assert.equal(initial.length, 2);

    await t.step("a wrong token is refused with the 401 message and is not kept", async () => {
      await page.goto(`${fixture.url}/`);
      await page.fill("#token", "bm_not-a-token");
      await page.click("#sign-in");
      const message = page.locator('[data-testid="signin-message"]');
      await message.waitFor();
      assert.match(
        (await message.textContent()) ?? "",
        /^Wrong token \(401\): The token is not valid/,
      );
      assert.equal(await page.isVisible("#app-view"), false);
      assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    });

    await t.step("signing in as admin shows the verdict, its reasons and the figures", async () => {
      await page.fill("#token", fixture.adminToken);
      await page.click("#sign-in");
      await page.waitForFunction(() =>
        document.getElementById("whoami")?.textContent === "Signed in as admin"
      );
      await waitForRows(page, initial);
      const health = page.locator('[data-testid="health"]');
      const level = await health.getAttribute("data-level");
      assert.ok(["healthy", "warning", "critical"].includes(level ?? ""), `level ${level}`);
      assert.match(
        (await health.textContent()) ?? "",
        new RegExp(`System health: ${level![0].toUpperCase()}${level!.slice(1)}`),
      );
      const status = (await (await fixture.request("/api/v1/status")).json()).status;
      const reasons = await page.locator("#reasons li").allTextContents();
      if (status.reasons.length === 0) assert.deepEqual(reasons, ["No problems found."]);
      else {
        assert.equal(reasons.length, status.reasons.length);
        for (const [i, reason] of status.reasons.entries()) {
          assert.ok(reasons[i].includes(reason.message), `${reasons[i]} has ${reason.message}`);
        }
      }
      const figures = (await page.locator("#figures").textContent()) ?? "";
      for (const label of ["Total backups2", "Total size", "Last backup", "Last verifiednever"]) {
        assert.ok(figures.includes(label), `${figures} has ${label}`);
      }
      // the token lives in this tab's session storage, never in the URL
      assert.equal(await page.evaluate(() => sessionStorage.length), 1);
      assert.ok(!page.url().includes(fixture.adminToken));
    });

    await t.step("the chart draws size and duration on a canvas", async () => {
      const canvas = page.locator("#chart canvas").first();
      await canvas.waitFor();
      const box = await canvas.boundingBox();
      assert.ok(box && box.width > 100 && box.height > 100, `canvas ${JSON.stringify(box)}`);
      const legend = (await page.locator("#chart .u-legend").textContent()) ?? "";
      assert.match(legend, /Size/);
      assert.match(legend, /Duration/);
    });

    let created = "";
    await t.step("creating a backup shows its progress, then the backup in the table", async () => {
      await watchProgress(page);
      await page.selectOption("#create-type", "full");
      await page.fill("#create-description", "from the dashboard test");
      await page.click("#create-button");
      const job = await waitForJob(page, "create");
      const sawProgress = await page.evaluate(() =>
        (globalThis as unknown as { sawProgress: string[] }).sawProgress
      );
      assert.ok(sawProgress.length > 0 || job.state !== "running", "no progress was shown");
      assert.equal(job.state, "succeeded", job.outcome);
      const backups = await backupsOf(fixture);
      assert.equal(backups.length, 3);
      assert.equal(backups[0].description, "from the dashboard test");
      created = backups[0].id;
      assert.equal(job.outcome, `Backup ${created} created`);
      await waitForRows(page, [created, ...initial]);
      const row = page.locator(`#backups tr[data-backup-id="${created}"]`);
      assert.match((await row.textContent()) ?? "", /from the dashboard test/);
    });

    await t.step("verify with a restore test marks the backup verified", async () => {
      const row = page.locator(`#backups tr[data-backup-id="${created}"]`);
      await row.locator('[data-testid="restore-test"]').check();
      await row.locator('[data-testid="verify"]').click();
      const job = await waitForJob(page, "verify");
      assert.equal(job.state, "succeeded", job.outcome);
      await page.waitForFunction(
        (id) =>
          document.querySelector(`#backups tr[data-backup-id="${id}"]`)?.dataset
            .state === "verified",
        created,
      );
      const verified = (await page.locator(`#backups tr[data-backup-id="${created}"]`)
        .locator('td[data-label="Verified"]').textContent()) ?? "";
      assert.match(verified, /^passed, restore test \d{4}-\d\d-\d\d/);
      await screenshot(page, "dashboard-desktop.png");
    });

    await t.step("a cleanup preview shows the plan, and applying it deletes that", async () => {
      await page.click("#cleanup-preview");
      const plan = page.locator('[data-testid="cleanup-plan"]');
      await plan.waitFor();
      const decisions = await plan.locator('[data-testid="decision"]').evaluateAll((items) =>
        items.map((item) => {
          const { backupId, action } = (item as unknown as PageElement).dataset;
          const reasons = item.querySelector(".decision-reasons")?.textContent ?? "";
          return { backupId, action, reasons };
        })
      );
      assert.deepEqual(
        decisions.map((d) => [d.backupId, d.action]),
        [[created, "keep"], [initial[0], "keep"], [initial[1], "delete"]],
      );
      for (const decision of decisions) assert.notEqual(decision.reasons, "");
      assert.match((await plan.textContent()) ?? "", /keepLast 2/);
      // a preview changes nothing
      assert.equal((await backupsOf(fixture)).length, 3);

      await page.click("#cleanup-apply");
      const job = await waitForJob(page, "cleanup");
      assert.equal(job.state, "succeeded", job.outcome);
      assert.equal(job.outcome, "Cleanup finished: 1 backup deleted");
      await waitForRows(page, [created, initial[0]]);
      assert.deepEqual((await backupsOf(fixture)).map((b) => b.id), [created, initial[0]]);
      assert.equal(await plan.isVisible(), false);
    });

    await t.step(
      "a restore without the right confirmation is refused and changes nothing",
      async () => {
        const before = await sha256File(fixture.database);
        const rows = countRows(fixture.database, "events");
        await page.locator(`#backups tr[data-backup-id="${created}"] [data-testid="restore"]`)
          .click();
        const dialog = page.locator('[data-testid="restore-dialog"]');
        await dialog.waitFor();
        await page.locator('[data-testid="restore-tables"]').waitFor();
        assert.equal(await page.textContent('[data-testid="restore-expected"]'), "app.db");
        const planText = (await page.textContent('[data-testid="restore-plan"]')) ?? "";
        assert.ok(planText.includes(fixture.database), planText);
        assert.match(planText, /accounts/);
        assert.match(planText, /events/);

        const message = page.locator('[data-testid="restore-message"]');
        await page.click("#restore-submit");
        await message.waitFor();
        assert.equal(
          await message.textContent(),
          `Refused: Cannot restore backup "${created}" into "${fixture.database}": it needs "confirm": "app.db" (the target database's name; nothing was changed)`,
        );
        await page.fill("#restore-confirm", "wrong.db");
        await page.click("#restore-submit");
        await page.waitForFunction(() =>
          document.querySelector('[data-testid="restore-message"]')?.textContent?.includes(
            "does not match",
          )
        );
        assert.match(
          (await message.textContent()) ?? "",
          /^Refused: .*the confirmation does not match; it needs "confirm": "app\.db"/,
        );
        assert.ok(await dialog.isVisible());
        await screenshot(page, "dashboard-restore-refused.png", false);
        assert.equal(await sha256File(fixture.database), before);
        assert.equal(countRows(fixture.database, "events"), rows);
        assert.equal((await backupsOf(fixture)).length, 2, "a safety backup was taken");
        assert.ok(!(await jobsOf(fixture)).some((job) => job.kind === "restore"));
        await page.click("#restore-cancel");
        assert.equal(await dialog.isVisible(), false);
      },
    );

    await t.step("a restore with the database's name runs after a safety backup", async () => {
      const rows = countRows(fixture.database, "accounts");
      await page.locator(`#backups tr[data-backup-id="${created}"] [data-testid="restore"]`)
        .click();
      await page.locator('[data-testid="restore-tables"]').waitFor();
      await page.fill("#restore-confirm", "app.db");
      await page.click("#restore-submit");
      const job = await waitForJob(page, "restore");
      assert.equal(job.state, "succeeded", job.outcome);
      assert.match(
        job.outcome,
        new RegExp(`^Backup ${created} restored into .*app\\.db \\(safety backup pre-restore_`),
      );
      assert.equal(await page.isVisible('[data-testid="restore-dialog"]'), false);
      const backups = await backupsOf(fixture);
      assert.equal(backups[0].type, "pre-restore");
      await waitForRows(page, backups.map((b) => b.id));
      assert.equal(countRows(fixture.database, "accounts"), rows);
      await screenshot(page, "dashboard-restored.png");
    });

    await t.step("on a 375 px wide phone screen nothing overflows the page", async () => {
      await page.setViewportSize({ width: 375, height: 740 });
      await page.reload(); // the session survives a reload in the same tab
      await page.waitForFunction(() =>
        document.getElementById("whoami")?.textContent === "Signed in as admin"
      );
      await page.locator("#chart canvas").first().waitFor();
      await page.click("#cleanup-preview");
      await page.locator('[data-testid="cleanup-plan"]').waitFor();
      const width = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        inner: innerWidth,
      }));
      assert.ok(width.scroll <= width.inner, `page is ${width.scroll} px wide in ${width.inner}`);
      const canvas = await page.locator("#chart canvas").first().boundingBox();
      assert.ok(canvas && canvas.width <= 375 && canvas.width > 200, JSON.stringify(canvas));
      // every backup's buttons stay on the screen
      for (const button of await page.locator("#backups button").all()) {
        const box = await button.boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 375, JSON.stringify(box));
      }
      await screenshot(page, "dashboard-phone.png");
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    await t.step(
      "a viewer is told it is one, and an admin action says why it is refused",
      async () => {
        await page.click("#sign-out");
        await page.locator("#signin-view").waitFor();
        assert.equal(await page.evaluate(() => sessionStorage.length), 0);
        await page.fill("#token", fixture.viewerToken);
        await page.click("#sign-in");
        await page.waitForFunction(() =>
          document.getElementById("whoami")?.textContent?.startsWith("Signed in as viewer")
        );
        const ids = (await backupsOf(fixture)).map((b) => b.id);
        await waitForRows(page, ids);
        await page.click("#create-button");
        const error = page.locator('#messages [data-kind="error"]').first();
        await error.waitFor();
        assert.match(
          (await error.textContent()) ?? "",
          /Not allowed: Cannot POST \/api\/v1\/backups: the token "grafana" is a viewer/,
        );
        assert.equal((await backupsOf(fixture)).length, ids.length);
      },
    );

    await t.step("no console error, and no request left this server", () => {
      assertClean(watched, fixture);
    });
  } finally {
    await browser?.close();
    await api?.stop();
  }
});

Deno.test("the dashboard shows an empty store, then charts its first backup", async () => {
  let api: ApiFixture | undefined;
  let browser: TestBrowser | undefined;
  try {
    api = await startApiFixture({ backups: 0 });
    browser = await launchBrowser();
    const { page } = browser;
    const watched = watch(page);
    await page.setViewportSize({ width: 375, height: 740 });
    await signIn(page, api, api.adminToken, "admin");
    await page.locator("#chart-empty").waitFor();
    assert.equal(await page.textContent("#chart-empty"), "No backups to chart yet.");
    assert.equal(await page.locator("#chart canvas").count(), 0);
    assert.equal(
      await page.textContent('[data-testid="backups-summary"]'),
      "The store holds no backup yet: create one above.",
    );
    const level = await page.getAttribute('[data-testid="health"]', "data-level");
    assert.equal(level, "critical"); // no backup at all
    assert.ok((await page.locator("#reasons li.reason-critical").count()) > 0);
    assert.match((await page.textContent("#figures")) ?? "", /Last backupnone yet/);

    await page.click("#create-button");
    const job = await waitForJob(page, "create");
    assert.equal(job.state, "succeeded", job.outcome);
    const [backup] = await backupsOf(api);
    await waitForRows(page, [backup.id]);
    const canvas = page.locator("#chart canvas").first();
    await canvas.waitFor();
    const box = await canvas.boundingBox();
    assert.ok(box && box.width > 100 && box.height > 100, `canvas ${JSON.stringify(box)}`);
    assert.equal(await page.isVisible("#chart-empty"), false);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 375, `page is ${width} px wide`);
    // without a retention rule the plan holds every delete, and says so
    await page.click("#cleanup-preview");
    await page.locator('[data-testid="cleanup-hold"]').waitFor();
    assert.equal(
      await page.textContent('[data-testid="cleanup-hold"]'),
      "Hold: no retention rule set",
    );
    assert.match(
      (await page.textContent(`[data-testid="decision"][data-backup-id="${backup.id}"]`)) ?? "",
      new RegExp(
        `^keep ${backup.id} [\\d.]+ (B|KiB)newest good full backup; no retention rule set$`,
      ),
    );
    await screenshot(page, "dashboard-one-backup-phone.png");
    assertClean(watched, api);
  } finally {
    await browser?.close();
    await api?.stop();
  }
});
