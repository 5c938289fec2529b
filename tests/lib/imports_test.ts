/**
 * Files under `src/` and `scripts/` name npm packages with their versions (`npm:zod@4.6.7`),
 * never by the bare names only our `deno.json` maps, so an application that imports `mod.ts`
 * without our `deno.json` resolves them; and every inline version is the one `deno.json` pins,
 * so the two cannot drift apart.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The specifiers a module's static and dynamic imports and re-exports name. */
export function importSpecifiers(source: string): string[] {
  const patterns = [
    // import x from "a"; import { a, type b } from "a"; export * from "a"; export { a } from "a"
    /^\s*(?:import|export)\s+(?:type\s+)?[\w\s{},*$]*?\bfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm, // import "a" (side effects)
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g, // import("a")
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((m) => m[1]));
}

/** `npm:@scope/name@1.2.3/sub` → name and version (version `undefined` when none is given). */
export function parseNpmSpecifier(specifier: string): { name: string; version?: string } {
  const match = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)(?:@([^/]+))?/.exec(specifier);
  assert.ok(match, `not an npm specifier: ${specifier}`);
  return { name: match[1], version: match[2] };
}

/** What kind of specifier a module names: a path or URL, a built-in, a versioned npm one, bare. */
export function kindOf(specifier: string): "relative" | "url" | "node" | "npm" | "bare" {
  if (/^\.{1,2}\//.test(specifier)) return "relative";
  if (specifier.startsWith("node:")) return "node";
  if (specifier.startsWith("npm:")) return "npm";
  if (/^(file|https?|data|jsr):/.test(specifier)) return "url";
  return "bare";
}

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (/\.(ts|tsx|js|mjs)$/.test(entry.name)) yield path;
  }
}

/** Every import of every file under `src/` and `scripts/`, and `mod.ts`. */
async function allImports(): Promise<{ file: string; specifier: string }[]> {
  const files = [join(ROOT, "mod.ts")];
  for (const dir of ["src", "scripts"]) {
    for await (const file of sourceFiles(join(ROOT, dir))) files.push(file);
  }
  const found = [];
  for (const file of files.sort()) {
    for (const specifier of importSpecifiers(await Deno.readTextFile(file))) {
      found.push({ file: relative(ROOT, file), specifier });
    }
  }
  return found;
}

Deno.test("no file under src/ or scripts/ imports a bare name", async () => {
  const imports = await allImports();
  assert.ok(imports.length > 300, `only ${imports.length} imports found`);
  const bare = imports.filter((i) =>
    kindOf(i.specifier) === "bare" || kindOf(i.specifier) === "url"
  )
    .map((i) => `${i.file}: "${i.specifier}"`);
  assert.deepEqual(bare, []);
});

Deno.test("every npm: import under src/ and scripts/ pins the version deno.json pins", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const pinned = new Map<string, string>();
  for (const target of Object.values(config.imports as Record<string, string>)) {
    if (!target.startsWith("npm:")) continue;
    const { name, version } = parseNpmSpecifier(target);
    assert.match(version ?? "", /^\d+\.\d+\.\d+$/, `deno.json pins ${name} to an exact version`);
    pinned.set(name, version!);
  }
  const drift = (await allImports())
    .filter((i) => kindOf(i.specifier) === "npm")
    .flatMap(({ file, specifier }) => {
      const { name, version } = parseNpmSpecifier(specifier);
      if (!pinned.has(name)) return [`${file}: "${specifier}" is not in deno.json's imports`];
      if (version !== pinned.get(name)) {
        return [`${file}: "${specifier}" but deno.json pins ${name}@${pinned.get(name)}`];
      }
      return [];
    });
  assert.deepEqual(drift, []);
});

Deno.test("the import audit reads every form of import", () => {
  const cases: [string, string[]][] = [
    ['import { z } from "npm:zod@4.6.7";', ["npm:zod@4.6.7"]],
    ['import type { Command } from "npm:commander@15.1.0";', ["npm:commander@15.1.0"]],
    ['import {\n  a,\n  type B,\n} from "./a.ts";', ["./a.ts"]],
    ['export * from "./errors.ts";\nexport type * from "./events.ts";', [
      "./errors.ts",
      "./events.ts",
    ]],
    ['import "zod";', ["zod"]],
    ['const m = await import("postgres");', ["postgres"]],
    ['import * as path from "node:path";', ["node:path"]],
    ['const q = `select * from "t"`; export function f() {}', []],
  ];
  for (const [source, expected] of cases) assert.deepEqual(importSpecifiers(source), expected);
  assert.deepEqual(parseNpmSpecifier("npm:@aws-sdk/client-s3@3.1169.0"), {
    name: "@aws-sdk/client-s3",
    version: "3.1169.0",
  });
  assert.deepEqual(parseNpmSpecifier("npm:uplot@1.6.32/dist/x.js"), {
    name: "uplot",
    version: "1.6.32",
  });
  assert.deepEqual(parseNpmSpecifier("npm:zod"), { name: "zod", version: undefined });
  assert.deepEqual(
    ["./a.ts", "../b.ts", "node:fs", "npm:zod@1.0.0", "zod", "@aws-sdk/client-s3", "file:///x.ts"]
      .map(kindOf),
    ["relative", "relative", "node", "npm", "bare", "bare", "url"],
  );
});
