/**
 * The files restore's plan: every entry that would land outside the target (absolute, `..`,
 * through a symlink of the archive or of the disk) refuses the whole restore before anything is
 * written; kinds that clash refuse; hard links and devices are skipped with a warning.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { planFiles, unsafeName } from "../../../src/core/files/restore_plan.ts";
import type { TarEntry } from "../../../src/core/files/tar_header.ts";
import { RefusedError } from "../../../src/core/errors.ts";

Deno.test("unsafeName() refuses every name that is not a plain relative path", () => {
  const cases: [string, string | undefined][] = [
    ["uploads/a.txt", undefined],
    ["a", undefined],
    ["Ünïcødé/名前", undefined],
    ["..hidden/file..", undefined],
    ["", "it is empty"],
    ["/etc/passwd", "it is absolute"],
    ["../x", 'it climbs out with ".."'],
    ["a/../../b", 'it climbs out with ".."'],
    ["a/..", 'it climbs out with ".."'],
    ["a//b", "it has an empty or . segment"],
    ["./a", "it has an empty or . segment"],
    ["a\\..\\b", "it holds a backslash"],
    ["a\0b", "it holds a NUL byte"],
  ];
  for (const [name, why] of cases) assert.equal(unsafeName(name), why, JSON.stringify(name));
});

const file = (name: string): TarEntry => ({ name, kind: "file", mode: 0o644, size: 1, mtimeMs: 0 });
const dir = (name: string): TarEntry => ({
  name,
  kind: "directory",
  mode: 0o755,
  size: 0,
  mtimeMs: 0,
});
const link = (name: string, to: string): TarEntry => ({
  name,
  kind: "symlink",
  mode: 0o777,
  size: 0,
  mtimeMs: 0,
  linkname: to,
});

async function* listing(entries: TarEntry[]): AsyncGenerator<TarEntry> {
  for (const entry of entries) yield entry;
}

async function withRoot<T>(fn: (root: string) => Promise<T>): Promise<T> {
  const root = await Deno.makeTempDir({ prefix: "bm-plan-test-" });
  try {
    return await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("planFiles() says what each entry does and which existing files the safety copy needs", async () => {
  await withRoot(async (root) => {
    await Deno.mkdir(join(root, "uploads"));
    await Deno.writeTextFile(join(root, "uploads/a.txt"), "old");
    await Deno.symlink("a.txt", join(root, "uploads/link"));
    const plan = await planFiles(
      listing([
        dir("uploads"),
        file("uploads/a.txt"),
        file("uploads/new.txt"),
        link("uploads/link", "new.txt"),
        { ...file("uploads/hard"), kind: "hardlink", linkname: "uploads/a.txt" },
        { ...file("uploads/fifo"), kind: "other" },
      ]),
      root,
      "full_x",
      6,
    );
    assert.deepEqual(plan.actions?.map((a) => [a.name, a.action]), [
      ["uploads", "update"],
      ["uploads/a.txt", "replace"],
      ["uploads/new.txt", "create"],
      ["uploads/link", "replace"],
      ["uploads/hard", "skip"],
      ["uploads/fifo", "skip"],
    ]);
    assert.deepEqual(plan.replaced, [join(root, "uploads/a.txt"), join(root, "uploads/link")]);
    assert.equal(plan.warnings.length, 2);
  });
});

Deno.test("planFiles() refuses, before anything is written, every entry that escapes the target", async () => {
  await withRoot(async (root) => {
    await Deno.mkdir(join(root, "real"));
    await Deno.symlink("/tmp", join(root, "disk-link"));
    await Deno.writeTextFile(join(root, "plain"), "a file");
    const cases: [string, TarEntry[], RegExp][] = [
      ["absolute", [file("/etc/cron.d/evil")], /not a safe relative path \(it is absolute\)/],
      ["dot-dot", [file("real/../../evil")], /climbs out/],
      [
        "through a link of the archive",
        [link("up", "/etc"), file("up/passwd")],
        /goes through the symbolic link "up"/,
      ],
      [
        "through a link on disk",
        [file("disk-link/evil")],
        /goes through "disk-link", a symbolic link in the target/,
      ],
      ["under a file of the archive", [file("f"), file("f/g")], /needs "f", a file in the archive/],
      ["under a file on disk", [file("plain/g")], /needs "plain" to be a directory/],
      ["a file where a directory is", [file("real")], /is a file, but a directory is in its place/],
      ["a directory where a file is", [dir("plain")], /is a directory, but a file is in its place/],
    ];
    for (const [name, entries, message] of cases) {
      await assert.rejects(
        planFiles(listing(entries), root, "full_x", entries.length),
        (error: Error) => {
          assert.ok(error instanceof RefusedError, name);
          assert.match(error.message, message, name);
          assert.match(error.message, /; nothing was written$/, name);
          return true;
        },
      );
    }
    const names = [];
    for await (const entry of Deno.readDir(root)) names.push(entry.name);
    assert.deepEqual(names.sort(), ["disk-link", "plain", "real"]);
  });
});
