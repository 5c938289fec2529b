/**
 * The spool between a producer that runs ahead and its one consumer (`_spool.ts`): bytes come out
 * in order whether they waited in memory or on disk, the shared budget bounds memory, an attached
 * spool holds its producer back instead of spilling, and failures and closes reach both sides.
 */
import assert from "node:assert/strict";
import { Spool, SpoolBudget } from "../../../src/engines/postgres/_spool.ts";

function chunk(seed: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (seed * 31 + i) & 0xff;
  return bytes;
}

/** Everything the spool gives, copied: bytes read back from its file are valid until `next`. */
async function drain(spool: Spool): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let part = await spool.next(); part !== undefined; part = await spool.next()) {
    parts.push(part.slice());
  }
  return joined(parts);
}

function joined(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

async function tempFiles(): Promise<number> {
  let count = 0;
  for await (const entry of Deno.readDir(await Deno.realPath(Deno.env.get("TMPDIR") ?? "/tmp"))) {
    if (entry.name.startsWith("backup-manager-spool-")) count++;
  }
  return count;
}

Deno.test("Spool gives the bytes back in order from memory, disk and memory again", async () => {
  const budget = new SpoolBudget({ memoryBytes: 3000, diskBytes: 1 << 20, attachedBytes: 2500 });
  const spool = new Spool(budget);
  const parts = Array.from({ length: 12 }, (_, i) => chunk(i, 1000 + i));
  try {
    // Ahead of the consumer: two parts fit the budget, the rest spill to the file.
    for (const part of parts.slice(0, 8)) await spool.push(part);
    assert.ok(budget.memory <= 3000, `memory ${budget.memory}`);
    assert.ok(budget.disk > 0, "some bytes went to disk");
    spool.attach();
    assert.equal(budget.memory, 0, "an attached spool's memory leaves the shared budget");
    const reading = drain(spool);
    for (const part of parts.slice(8)) await spool.push(part);
    spool.end();
    assert.deepEqual(await reading, joined(parts));
    assert.equal(budget.disk, 0);
  } finally {
    await spool.close();
  }
});

Deno.test("Spool read while it is filled spills only what the reader has not taken", async () => {
  const budget = new SpoolBudget({ memoryBytes: 4096, diskBytes: 1 << 20 });
  const spool = new Spool(budget);
  const parts = Array.from({ length: 40 }, (_, i) => chunk(i, 700));
  try {
    const reading = drain(spool);
    for (const part of parts) {
      const pending = spool.push(part);
      if (pending) await pending;
    }
    spool.end();
    assert.deepEqual(await reading, joined(parts));
    assert.equal(budget.memory, 0);
    assert.equal(budget.disk, 0);
  } finally {
    await spool.close();
  }
});

Deno.test("Spool holds an attached producer back instead of spilling", async () => {
  const budget = new SpoolBudget({ memoryBytes: 0, diskBytes: 0, attachedBytes: 2048 });
  const spool = new Spool(budget);
  try {
    spool.attach();
    assert.equal(spool.push(chunk(1, 1024)), undefined);
    assert.equal(spool.push(chunk(2, 1024)), undefined);
    const waiting = spool.push(chunk(3, 1024));
    assert.ok(waiting instanceof Promise, "the third KiB waits");
    let released = false;
    waiting.then(() => released = true);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(released, false);
    await spool.next();
    await spool.next();
    await waiting;
    assert.equal(budget.disk, 0);
  } finally {
    await spool.close();
  }
});

Deno.test("Spool passes a producer's failure to the consumer and a close to the producer", async () => {
  const budget = new SpoolBudget();
  const failing = new Spool(budget);
  await failing.push(chunk(1, 10));
  failing.fail(new Error("the connection broke"));
  failing.attach();
  await assert.rejects(failing.next(), /the connection broke/);
  await failing.close();

  const closed = new Spool(budget);
  await closed.close();
  await assert.rejects(Promise.resolve(closed.push(chunk(2, 10))), /closed/);
  assert.equal(budget.memory, 0);
});

Deno.test("Spool leaves no temporary file behind, even while it holds bytes on disk", async () => {
  const before = await tempFiles();
  const budget = new SpoolBudget({ memoryBytes: 0 });
  const spool = new Spool(budget);
  try {
    await spool.push(chunk(1, 100_000));
    assert.equal(budget.disk, 100_000);
    assert.equal(await tempFiles(), before, "the file is unlinked as soon as it is open");
  } finally {
    await spool.close();
  }
  assert.equal(budget.disk, 0);
});
