/**
 * The API under load (`deno task bench:api [--quick]`): a real `serve` over a store of many
 * backups, measuring
 * - `GET /api/v1/backups` and `/api/v1/status` latency (median and p95 of sequential requests),
 *   against `list --format json` of the same store run as a command (what a script would do);
 * - 50 concurrent list/status requests: every answer 200 and correct;
 * - a create through the API while 50 clients keep asking for the status, against the same create
 *   alone: the ratio says how much the load slows the backup (target ≤ 1.5).
 * The machines are noisy: read the ratios, not the wall times.
 */
import { parseArgs } from "node:util";
import { startApiFixture } from "../tests/helpers/api_server.ts";
import { waitForJob } from "../tests/api/api_test.ts";
import { CLI, REPO } from "./_measure.ts";

const { values } = parseArgs({ options: { quick: { type: "boolean", default: false } } });
const BACKUPS = values.quick ? 60 : 300;
const EVENTS = values.quick ? 100_000 : 400_000;
const CONCURRENT = 50;

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

console.log(`Preparing a store of ${BACKUPS} backups and a database of ${EVENTS} rows…`);
const api = await startApiFixture({ backups: BACKUPS, events: EVENTS });
try {
  const get = async (path: string) => {
    const response = await api.request(path);
    if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
    return await response.json();
  };
  const rows: string[][] = [];
  for (const path of ["/api/v1/backups", "/api/v1/status"]) {
    await get(path); // warm
    const times: number[] = [];
    for (let i = 0; i < 20; i++) times.push((await timed(() => get(path))).ms);
    rows.push([path, quantile(times, 0.5).toFixed(0), quantile(times, 0.95).toFixed(0)]);
  }
  const cli = await timed(() =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "list", "--dir", api.dir, "--limit", "100000", "--format", "json"],
      cwd: REPO,
      stdout: "null",
      stderr: "null",
    }).output()
  );
  console.log(`\nLatency with ${BACKUPS} backups (ms):`);
  console.log("endpoint              median   p95");
  for (const [path, median, p95] of rows) {
    console.log(`${path.padEnd(20)}  ${median.padStart(6)}  ${p95.padStart(4)}`);
  }
  const listMedian = Number(rows[0][1]);
  console.log(
    `list --format json as a command: ${cli.ms.toFixed(0)} ms; the API's list takes ${
      (listMedian / cli.ms).toFixed(2)
    }x of it`,
  );

  const burst = await timed(() =>
    Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) =>
        get(i % 2 ? "/api/v1/status" : "/api/backup?action=list").then((body) => {
          if (body.success !== true) {
            throw new Error("an answer was not a success");
          }
        })),
    )
  );
  console.log(
    `\n${CONCURRENT} concurrent list/status requests: all 200 in ${burst.ms.toFixed(0)} ms`,
  );

  const create = async () => {
    const response = await api.request("/api/v1/backups", { method: "POST", body: "{}" });
    const job = await waitForJob(api, (await response.json()).job.url);
    if (job.state !== "succeeded") throw new Error(JSON.stringify(job.error));
    return job;
  };
  const alone = await timed(create);
  let stop = false;
  let answered = 0;
  const clients = Array.from({ length: CONCURRENT }, async () => {
    while (!stop) {
      await get("/api/v1/status");
      answered++;
    }
  });
  const loaded = await timed(create);
  stop = true;
  await Promise.all(clients);
  const ratio = loaded.ms / alone.ms;
  console.log(
    `\ncreate alone ${alone.ms.toFixed(0)} ms; while ${CONCURRENT} clients asked for the status ` +
      `(${answered} answers) ${loaded.ms.toFixed(0)} ms: ${ratio.toFixed(2)}x (target ≤ 1.5) ${
        ratio <= 1.5 ? "pass" : "FAIL"
      }`,
  );
} finally {
  await api.stop();
}
