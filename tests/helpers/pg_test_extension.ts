/**
 * Installs the test extension `bm_config_ext` (fixtures/postgres/extension) into the server's
 * share directory. An extension's configuration tables can only be made by an extension script,
 * and PostgreSQL 15 looks for extension scripts in that one directory, so the test copies its
 * two small files there (the tests run as root, who owns it). Idempotent and safe to race:
 * unchanged files are left alone, changed ones are renamed into place.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PG_BIN } from "./pg_tools.ts";

const SOURCE = fileURLToPath(new URL("../fixtures/postgres/extension/", import.meta.url));
const FILES = ["bm_config_ext.control", "bm_config_ext--1.0.sql"];

/** Copies the test extension's files into `$(pg_config --sharedir)/extension`. */
export async function installTestExtension(): Promise<void> {
  const output = await new Deno.Command(join(PG_BIN, "pg_config"), {
    args: ["--sharedir"],
    stdout: "piped",
  }).output();
  const target = join(new TextDecoder().decode(output.stdout).trim(), "extension");
  for (const file of FILES) {
    const text = await Deno.readTextFile(join(SOURCE, file));
    const existing = await Deno.readTextFile(join(target, file)).catch(() => null);
    if (existing === text) continue;
    const temp = join(target, `.${file}.${crypto.randomUUID()}`);
    await Deno.writeTextFile(temp, text);
    await Deno.rename(temp, join(target, file));
  }
}
