/**
 * The test security label provider (`tests/fixtures/postgres/seclabel/bm_seclabel.c`), built
 * against the server headers on first use. No Debian package ships a label provider, so CI
 * installs `postgresql-server-dev-15` and gcc (`.ci/run`) and the test builds its own: a missing
 * compiler or header fails the test with the command to fix it, it is never skipped.
 */
import { fileURLToPath } from "node:url";
import { PG_BIN } from "./pg_tools.ts";

const SOURCE = fileURLToPath(
  new URL("../fixtures/postgres/seclabel/bm_seclabel.c", import.meta.url),
);

let built: Promise<string> | undefined;

/** Path of the built provider library (readable by the `postgres` user), built once a process. */
export function seclabelLibrary(): Promise<string> {
  return built ??= build();
}

async function build(): Promise<string> {
  const include = await output(`${PG_BIN}/pg_config`, ["--includedir-server"]);
  const dir = await Deno.makeTempDir({ prefix: "bm-seclabel-" });
  await Deno.chmod(dir, 0o755);
  const library = `${dir}/bm_seclabel.so`;
  await output("gcc", ["-shared", "-fPIC", "-O1", `-I${include}`, "-o", library, SOURCE]);
  await Deno.chmod(library, 0o755);
  return library;
}

async function output(command: string, args: string[]): Promise<string> {
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (error) {
    throw new Error(
      `Cannot run ${command} (${error}): install gcc and postgresql-server-dev-15 (.ci/run does)`,
    );
  }
  if (!result.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed: ${new TextDecoder().decode(result.stderr).trim()} ` +
        "(install gcc and postgresql-server-dev-15)",
    );
  }
  return new TextDecoder().decode(result.stdout).trim();
}
