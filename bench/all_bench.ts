/**
 * Every benchmark, one after the other, each with the same arguments: `deno task bench
 * [--quick]` runs `sqlite_bench.ts`, `postgres_bench.ts`, `s3_bench.ts` then the shape matrix,
 * `shapes_bench.ts`.
 */
const BENCHES = ["sqlite_bench.ts", "postgres_bench.ts", "s3_bench.ts", "shapes_bench.ts"];

for (const bench of BENCHES) {
  console.log(`\n=== ${bench} ${Deno.args.join(" ")}`);
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(bench, import.meta.url).pathname, ...Deno.args],
    stdin: "null",
  }).spawn().status;
  if (!status.success) Deno.exit(status.code);
}
