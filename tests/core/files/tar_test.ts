/**
 * Our tar against GNU tar as the oracle: what we write GNU tar lists and extracts to the same
 * bytes, modes, mtimes and links; what GNU tar writes (ustar, pax, GNU long names) we read; a
 * damaged or cut archive is an error, never a short listing; headers table by table.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { collectFiles } from "../../../src/core/files/collect.ts";
import { writeFilesTar } from "../../../src/core/files/write_files.ts";
import { checkTar, readTar, TarFormatError } from "../../../src/core/files/tar_read.ts";
import { SizeChangedError, TarWriter } from "../../../src/core/files/tar_write.ts";
import {
  decodeHeader,
  encodeHeader,
  parsePax,
  type TarEntry,
} from "../../../src/core/files/tar_header.ts";

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "bm-tar-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function gnuTar(args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command("tar", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return text;
}

/** Writes the tar of `paths` under `root` (as `create` does) to `file`. */
async function writeTarOf(root: string, paths: string[], file: string) {
  const out = await Deno.open(file, { write: true, create: true, truncate: true });
  try {
    const collected = await collectFiles({ paths, base: root });
    return await writeFilesTar(collected, async (chunk) => {
      await out.write(chunk);
    });
  } finally {
    out.close();
  }
}

async function* chunksOf(file: string, size = 4096): AsyncGenerator<Uint8Array> {
  const bytes = await Deno.readFile(file);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function listOurs(file: string) {
  const items: (TarEntry & { content?: string })[] = [];
  for await (const { entry, body } of readTar(chunksOf(file, 1000))) {
    let content = "";
    for await (const chunk of body) content += new TextDecoder().decode(chunk);
    items.push({ ...entry, ...(entry.kind === "file" ? { content } : {}) });
  }
  return items;
}

const LONG = "d".repeat(60) + "/" + "f".repeat(120) + ".txt";

/** A tree with the shapes applications keep: long and unicode names, links, empty things. */
async function makeTree(root: string): Promise<void> {
  const at = (p: string) => join(root, p);
  await Deno.mkdir(at("uploads/empty"), { recursive: true });
  await Deno.mkdir(at("uploads/" + LONG.split("/")[0]), { recursive: true });
  await Deno.writeTextFile(at("uploads/a.txt"), "hello\n");
  await Deno.writeTextFile(at("uploads/" + LONG), "long name\n");
  await Deno.writeTextFile(at("uploads/Ünïcødé 名前.json"), '{"k": "v"}');
  await Deno.writeFile(at("uploads/empty.bin"), new Uint8Array());
  const big = new Uint8Array(3 * 1024 * 1024 + 7);
  crypto.getRandomValues(big.subarray(0, 65536));
  await Deno.writeFile(at("uploads/big.bin"), big);
  await Deno.symlink("a.txt", at("uploads/rel-link"));
  await Deno.symlink("/etc/hostname", at("uploads/abs-link"));
  await Deno.symlink("missing-target", at("uploads/dangling"));
  await Deno.chmod(at("uploads/a.txt"), 0o640);
  await Deno.chmod(at("uploads/empty"), 0o750);
  await Deno.utime(at("uploads/a.txt"), 1577934245.123, 1577934245.123);
}

Deno.test("GNU tar lists and extracts what we write: bytes, modes, mtimes, links, long and unicode names", async () => {
  await withTempDir(async (dir) => {
    const src = join(dir, "src");
    await makeTree(src);
    const file = join(dir, "ours.tar");
    const summary = await writeTarOf(src, ["uploads"], file);
    assert.equal(summary.warnings.length, 0, summary.warnings.join("\n"));

    const listing = await gnuTar(["-tvf", file, "--full-time"], dir);
    assert.match(listing, /^-rw-r----- .* 6 2020-01-02 03:04:05(\.\d+)? uploads\/a\.txt$/m);
    assert.match(listing, /^drwxr-x--- .* uploads\/empty\/$/m);
    assert.match(listing, /^lrwxrwxrwx .* uploads\/rel-link -> a\.txt$/m);
    assert.match(listing, /^lrwxrwxrwx .* uploads\/abs-link -> \/etc\/hostname$/m);
    assert.match(listing, /^lrwxrwxrwx .* uploads\/dangling -> missing-target$/m);
    assert.ok(listing.includes("uploads/" + LONG), listing);
    assert.ok(listing.includes("uploads/Ünïcødé 名前.json"), listing);

    const out = join(dir, "out");
    await Deno.mkdir(out);
    await gnuTar(["-xf", file, "-C", out], dir);
    for (const name of ["a.txt", LONG, "Ünïcødé 名前.json", "empty.bin", "big.bin"]) {
      assert.deepEqual(
        await Deno.readFile(join(out, "uploads", name)),
        await Deno.readFile(join(src, "uploads", name)),
        name,
      );
    }
    assert.equal(await Deno.readLink(join(out, "uploads/rel-link")), "a.txt");
    assert.equal(await Deno.readLink(join(out, "uploads/abs-link")), "/etc/hostname");
    assert.equal((await Deno.stat(join(out, "uploads/a.txt"))).mode! & 0o7777, 0o640);
    assert.equal((await Deno.stat(join(out, "uploads/empty"))).mode! & 0o7777, 0o750);

    // our reader gives the milliseconds back, and every entry once
    const ours = await listOurs(file);
    const a = ours.find((e) => e.name === "uploads/a.txt")!;
    assert.equal(a.mtimeMs, 1577934245123);
    assert.equal(a.content, "hello\n");
    assert.equal(ours.find((e) => e.name === "uploads/rel-link")?.linkname, "a.txt");
    assert.equal(ours.length, summary.entries);
    assert.deepEqual(await checkTar(chunksOf(file, 777)), { entries: summary.entries });
  });
});

Deno.test("we read what GNU tar writes: ustar, pax and GNU long names, with their contents", async () => {
  await withTempDir(async (dir) => {
    const src = join(dir, "src");
    await makeTree(src);
    for (const format of ["gnu", "pax", "ustar"]) {
      const file = join(dir, `${format}.tar`);
      // ustar cannot hold the 180-byte name: that format gets the tree without it
      const args = ["--format", format, "-cf", file, "-C", src];
      if (format === "ustar") args.push("--exclude", "f".repeat(120) + ".txt");
      await gnuTar([...args, "uploads"], dir);
      const ours = await listOurs(file);
      const names = ours.map((e) => e.name);
      assert.ok(names.includes("uploads/a.txt"), `${format}: ${names}`);
      assert.ok(names.includes("uploads/Ünïcødé 名前.json"), `${format}: ${names}`);
      if (format !== "ustar") assert.ok(names.includes("uploads/" + LONG), format);
      assert.equal(ours.find((e) => e.name === "uploads/a.txt")!.content, "hello\n");
      assert.equal(ours.find((e) => e.name === "uploads/a.txt")!.mode, 0o640);
      assert.equal(ours.find((e) => e.name === "uploads/abs-link")!.linkname, "/etc/hostname");
      const big = ours.find((e) => e.name === "uploads/big.bin")!;
      assert.equal(big.size, 3 * 1024 * 1024 + 7);
      assert.ok(ours.some((e) => e.name === "uploads/empty" && e.kind === "directory"), format);
    }
  });
});

Deno.test("a cut, zeroed or bit-flipped archive is a TarFormatError, never a shorter listing", async () => {
  await withTempDir(async (dir) => {
    const src = join(dir, "src");
    await makeTree(src);
    const file = join(dir, "ours.tar");
    await writeTarOf(src, ["uploads"], file);
    const bytes = await Deno.readFile(file);
    const check = (data: Uint8Array) =>
      checkTar((async function* () {
        yield data;
      })());
    const cases: [string, Uint8Array][] = [
      ["cut in a header", bytes.slice(0, 512 + 100)],
      ["cut in a content", bytes.slice(0, bytes.length / 2)],
      ["without its closing blocks", bytes.slice(0, bytes.length - 1024)],
      ["empty", new Uint8Array()],
    ];
    const flipped = bytes.slice();
    flipped[148] ^= 0x01; // the first header's checksum field
    cases.push(["a header checksum that does not match", flipped]);
    const named = bytes.slice();
    named[10] ^= 0x20; // a byte of the first name: the header checksum no longer matches
    cases.push(["a changed name", named]);
    for (const [name, data] of cases) {
      await assert.rejects(check(data), TarFormatError, name);
    }
  });
});

Deno.test("headers table by table: what needs pax, and what decodes back", () => {
  const GiB = 1024 ** 3;
  const cases: { name: string; entry: TarEntry; pax: Record<string, string> }[] = [
    {
      name: "plain ustar",
      entry: { name: "a/b.txt", kind: "file", mode: 0o644, size: 5, mtimeMs: 1_700_000_000_000 },
      pax: {},
    },
    {
      name: "a fraction of a second",
      entry: { name: "a", kind: "file", mode: 0o600, size: 0, mtimeMs: 1_700_000_000_123 },
      pax: { mtime: "1700000000.123" },
    },
    {
      name: "a size past 8 GiB",
      entry: { name: "huge.img", kind: "file", mode: 0o600, size: 9 * GiB, mtimeMs: 0 },
      pax: { size: String(9 * GiB) },
    },
    {
      name: "a long name",
      entry: { name: "x".repeat(101), kind: "file", mode: 0o600, size: 0, mtimeMs: 0 },
      pax: { path: "x".repeat(101) },
    },
    {
      name: "a unicode link text",
      entry: { name: "l", kind: "symlink", mode: 0o777, size: 0, mtimeMs: 0, linkname: "né" },
      pax: { linkpath: "né" },
    },
  ];
  for (const c of cases) {
    const blocks = encodeHeader(c.entry);
    const hasPax = Object.keys(c.pax).length > 0;
    if (!hasPax) {
      assert.equal(blocks.length, 512, c.name);
      const raw = decodeHeader(blocks);
      assert.equal(raw.name, c.entry.name, c.name);
      continue;
    }
    const paxHeader = decodeHeader(blocks.subarray(0, 512));
    assert.equal(paxHeader.typeflag, "x", c.name);
    const records = parsePax(blocks.subarray(512, 512 + paxHeader.size));
    for (const [key, value] of Object.entries(c.pax)) {
      assert.equal(records.get(key), value, `${c.name}: ${key}`);
    }
  }
});

Deno.test("the writer refuses a file whose content is not the size its header announced", async () => {
  const sink = async (_: Uint8Array) => {};
  const entry: TarEntry = { name: "f", kind: "file", mode: 0o600, size: 10, mtimeMs: 0 };
  await assert.rejects(
    new TarWriter(sink).addFile(entry, [new Uint8Array(4)]),
    SizeChangedError,
  );
  await assert.rejects(
    new TarWriter(sink).addFile(entry, [new Uint8Array(8), new Uint8Array(8)]),
    SizeChangedError,
  );
});
