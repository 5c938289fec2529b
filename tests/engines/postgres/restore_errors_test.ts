/**
 * A restore that fails names the statement PostgreSQL rejected: its first line and its place in
 * the script (statement number and line, and for a row COPY rejected, the row's line), whether
 * the statement failed with a position or without one, alone or inside a batch, in the
 * one-transaction restore and in the parallel `--create` load.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { startCluster } from "../../helpers/pg_cluster.ts";
import { createDatabase, psql, uniqueName } from "../../helpers/pg_tools.ts";
import { once } from "../../helpers/engine_io.ts";
import { PostgresEngine } from "../../../src/engines/postgres/postgres_engine.ts";
import { ScriptReader } from "../../../src/engines/postgres/_script_reader.ts";
import { placeText } from "../../../src/engines/postgres/_restore.ts";
import { DatabaseError } from "../../../src/core/errors.ts";

const SOURCE = `
  CREATE TABLE a (id int PRIMARY KEY, v text);
  CREATE TABLE b (id int, a_id int REFERENCES a);
  CREATE TABLE c (k text);
  CREATE VIEW va AS SELECT id FROM a;
  INSERT INTO a SELECT g, 'v' || g FROM generate_series(1, 300) g;
  INSERT INTO b SELECT g, 1 + g % 300 FROM generate_series(1, 200) g;
  INSERT INTO c SELECT 'k' || (g % 50) FROM generate_series(1, 100) g;
  CREATE INDEX c_k ON c (k);
  COMMENT ON TABLE a IS 'the first';
`;

/** The script with `insert` put in before the first occurrence of `before`. */
function inject(script: string, before: string, insert: string): string {
  const at = script.indexOf(before);
  assert.ok(at >= 0, `the script has "${before}"`);
  return script.slice(0, at) + insert + script.slice(at);
}

/** Number and line of the statement that starts with `text`, counted by an independent scan. */
function placeOf(script: string, text: string): { number: number; line: number } {
  const at = script.indexOf(text);
  assert.ok(at >= 0);
  const reader = new ScriptReader();
  reader.push(new TextEncoder().encode(script.slice(0, at)));
  return { number: reader.statements + 1, line: script.slice(0, at).split("\n").length };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

async function dumpScript(engine: PostgresEngine, url: string): Promise<string> {
  const parts: Uint8Array[] = [];
  await engine.dump(url, (chunk) => Promise.resolve(void parts.push(chunk.slice())));
  return new TextDecoder().decode(
    new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer()),
  );
}

Deno.test("placeText() says where a statement and a rejected row are", () => {
  const cases: [Parameters<typeof placeText>, string][] = [
    [[undefined], ""],
    [[{ number: 3, line: 17 }], " (statement 3, line 17 of the script)"],
    [
      [{ number: 9, line: 40 }, 'COPY t, line 5, column id: "x"'],
      " (statement 9, line 40, row at line 45 of the script)",
    ],
    [
      [{ number: 9, line: 40 }, "PL/pgSQL function f() line 5 at RAISE"],
      " (statement 9, line 40 of the script)",
    ],
  ];
  for (const [args, expected] of cases) assert.equal(placeText(...args), expected);
});

Deno.test("a failed restore names the statement and its place in the script", async (t) => {
  const cluster = await startCluster();
  const engine = new PostgresEngine(cluster.url, {});
  try {
    const source = await createDatabase(cluster.url, uniqueName("src"));
    await psql(source, SOURCE);
    const script = await dumpScript(engine, source);

    /** Restores `broken` both ways; each error must match `expected`. */
    const fails = async (broken: string, expected: (undone: string) => RegExp) => {
      const gz = gzipSync(new TextEncoder().encode(broken));
      const existing = uniqueName("existing");
      await createDatabase(cluster.url, existing);
      await assert.rejects(engine.restore(existing, once(gz)), (e: Error) => {
        assert.ok(e instanceof DatabaseError, e.message);
        assert.match(e.message, expected("nothing was changed"));
        return true;
      });
      await assert.rejects(
        engine.restore(uniqueName("created"), once(gz), { create: true, jobs: 2 }),
        (e: Error) => {
          assert.ok(e instanceof DatabaseError, e.message);
          assert.match(e.message, expected("the database created for it was dropped again"));
          return true;
        },
      );
    };

    await t.step("a statement without a position, inside a batch", async () => {
      const bad = "DO $$ BEGIN RAISE EXCEPTION 'boom'; END $$;\n";
      const broken = inject(script, "CREATE TABLE public.b (", bad);
      const { number, line } = placeOf(broken, bad);
      await fails(
        broken,
        (undone) =>
          new RegExp(
            `PostgreSQL rejected "DO \\$\\$ BEGIN RAISE EXCEPTION 'boom'; END \\$\\$;" ` +
              `\\(statement ${number}, line ${line} of the script\\): boom .*\\(${undone}\\)$`,
          ),
      );
    });

    await t.step(
      "a statement without a position after a BEGIN ATOMIC body in its batch",
      async () => {
        // Cut at its inner semicolons, the body counted as three statements to the server's one,
        // and the error named a statement before the one rejected (the regression database).
        const body = "CREATE FUNCTION public.two() RETURNS int LANGUAGE sql\n" +
          "BEGIN ATOMIC\n SELECT 1;\n SELECT 2;\nEND;\n";
        const bad = "DO $$ BEGIN RAISE EXCEPTION 'after the body'; END $$;\n";
        const broken = inject(script, "CREATE TABLE public.b (", body + bad);
        const number = placeOf(broken, body).number + 1;
        const line = broken.slice(0, broken.indexOf(bad)).split("\n").length;
        await fails(
          broken,
          (undone) =>
            new RegExp(
              `PostgreSQL rejected "DO \\$\\$ BEGIN RAISE EXCEPTION 'after the body'; END \\$\\$;" ` +
                `\\(statement ${number}, line ${line} of the script\\): after the body .*\\(${undone}\\)$`,
            ),
        );
      },
    );

    await t.step("a statement with a position, inside a batch", async () => {
      const bad = "CREATE VIEW public.broken AS\n SELECT x FROM public.missing;\n";
      const broken = inject(script, "CREATE VIEW public.va", bad);
      const { number, line } = placeOf(broken, bad);
      await fails(
        broken,
        (undone) =>
          new RegExp(
            `PostgreSQL rejected "CREATE VIEW public\\.broken AS" \\(statement ${number}, ` +
              `line ${line} of the script\\): relation "public\\.missing" does not exist .*\\(${undone}\\)$`,
          ),
      );
    });

    await t.step("a row COPY rejects, with the row's line", async () => {
      const copy = /^COPY public\.a \(id, v\) FROM stdin;$/m.exec(script)!;
      const start = copy.index + copy[0].length + 1;
      const row = "12\tv12\n";
      assert.equal(script.slice(start).indexOf(row) > 0, true);
      const broken = script.replace(`\n${row}`, "\nnot-a-number\tv12\n");
      const { number, line } = placeOf(broken, copy[0]);
      const rowLine = broken.slice(0, broken.indexOf("not-a-number")).split("\n").length;
      await fails(
        broken,
        (undone) =>
          new RegExp(
            `PostgreSQL rejected "${escape(copy[0])}" \\(statement ${number}, line ${line}, ` +
              `row at line ${rowLine} of the script\\): invalid input syntax for type integer.*\\(${undone}\\)$`,
          ),
      );
    });

    await t.step("a statement after the data, without a position", async () => {
      const index = /^CREATE INDEX c_k ON public\.c .*$/m.exec(script)![0];
      const broken = script.replace(index, index.replace("CREATE INDEX", "CREATE UNIQUE INDEX"));
      const unique = index.replace("CREATE INDEX", "CREATE UNIQUE INDEX");
      const { number, line } = placeOf(broken, unique);
      await fails(
        broken,
        (undone) =>
          new RegExp(
            `PostgreSQL rejected "${escape(unique)}" \\(statement ${number}, line ${line} of ` +
              `the script\\): could not create unique index "c_k".*\\(${undone}\\)$`,
          ),
      );
    });

    await t.step("a statement after the data that fails among others", async () => {
      const bad = "COMMENT ON TABLE public.nowhere IS 'lost';\n";
      const broken = inject(script, "CREATE INDEX c_k ON public.c", bad);
      const { number, line } = placeOf(broken, bad);
      await fails(
        broken,
        (undone) =>
          new RegExp(
            `PostgreSQL rejected "COMMENT ON TABLE public\\.nowhere IS 'lost';" \\(statement ` +
              `${number}, line ${line} of the script\\): relation "public\\.nowhere" does not exist.*\\(${undone}\\)$`,
          ),
      );
    });
  } finally {
    await cluster.stop();
  }
});
