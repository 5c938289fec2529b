/**
 * What `mod.ts` reaches at run time (its module graph from `deno info --json`, following code
 * imports, not type-only ones) never exits the process, never writes to the console or to
 * stdout/stderr, and never prompts: a library must leave those to its application.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = new URL("../../", import.meta.url);
const MOD = new URL("mod.ts", ROOT);

/** Calls a library must not make, by what they look like in source. */
const FORBIDDEN: [string, RegExp][] = [
  ["console output", /\bconsole\s*\.\s*\w+\s*\(/],
  ["process exit", /\bDeno\s*\.\s*exit\s*\(|\bprocess\s*\.\s*exit\s*\(/],
  ["stdout/stderr", /\bDeno\s*\.\s*(stdout|stderr)\b|\bprocess\s*\.\s*(stdout|stderr)\b/],
  ["terminal prompt", /(?<![.\w])(prompt|alert|confirm)\s*\(|\bglobalThis\s*\.\s*prompt\b/],
];

/**
 * Files reached that may contain such a call because it is never made for the library, with the
 * reason. Keep it empty if you can.
 */
const ALLOWED: Record<string, string> = {};

interface InfoModule {
  specifier: string;
  dependencies?: { specifier: string; code?: { specifier: string } }[];
  error?: string;
}

/** The local files `mod.ts` imports at run time, transitively. */
async function runtimeGraph(): Promise<{ files: string[]; errors: string[] }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", fileURLToPath(MOD)],
    cwd: fileURLToPath(ROOT),
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: InfoModule[] };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const errors: string[] = [];
  const queue = [MOD.href];
  while (queue.length) {
    const specifier = queue.pop()!;
    if (seen.has(specifier) || !specifier.startsWith("file:")) continue;
    seen.add(specifier);
    const module = bySpecifier.get(specifier);
    if (module?.error) errors.push(`${specifier}: ${module.error}`);
    for (const dependency of module?.dependencies ?? []) {
      if (dependency.code) queue.push(dependency.code.specifier);
    }
  }
  return { files: [...seen].map((s) => fileURLToPath(s)).sort(), errors };
}

/** Source without comments and string contents that are only prose (good enough for this). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

Deno.test("mod.ts reaches no console output, process exit, stdout/stderr write or prompt", async () => {
  const { files, errors } = await runtimeGraph();
  assert.deepEqual(errors, []);
  assert.ok(
    files.length > 50,
    `only ${files.length} files reached: is deno info's format changed?`,
  );
  assert.ok(files.some((f) => f.endsWith("/src/core/scheduler.ts")));
  const root = fileURLToPath(ROOT);
  const found: string[] = [];
  for (const file of files) {
    const name = file.slice(root.length);
    if (Object.hasOwn(ALLOWED, name)) continue;
    const text = code(await Deno.readTextFile(file));
    for (const [what, pattern] of FORBIDDEN) {
      const line = text.split("\n").findIndex((l) => pattern.test(l));
      if (line >= 0) found.push(`${name}:${line + 1}: ${what}`);
    }
  }
  assert.deepEqual(found, []);
});

Deno.test("the module graph check finds what it looks for", async () => {
  const hits = (source: string) =>
    FORBIDDEN.filter(([, p]) => p.test(code(source))).map(([w]) => w);
  assert.deepEqual(hits('console.log("x")'), ["console output"]);
  assert.deepEqual(hits("Deno.exit(1)"), ["process exit"]);
  assert.deepEqual(hits("Deno.stdout.writeSync(bytes)"), ["stdout/stderr"]);
  assert.deepEqual(hits('globalThis.prompt("Sure?")'), ["terminal prompt"]);
  assert.deepEqual(hits("// console.log(x)\n/** Deno.exit() */\nconst a = 1;"), []);
  assert.deepEqual(hits("io.prompt(question)"), []);
  // the command line's own io (never imported by the library at run time) is what it would catch
  const io = await Deno.readTextFile(new URL("src/cli/io.ts", ROOT));
  assert.deepEqual(hits(io), ["stdout/stderr", "terminal prompt"]);
});
