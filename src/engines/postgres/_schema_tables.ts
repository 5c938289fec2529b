/**
 * Reads tables: columns (types with typmods, collations, defaults, generated expressions,
 * identity, NOT NULL), valid CHECK constraints inline, inheritance, partitioning and partitions
 * (created alone, then attached, as pg_dump 15 does), storage options and the rows to copy.
 */
import type { TableData } from "./_model.ts";
import { catalogKey, Priority } from "./_schema_graph.ts";
import {
  columnDefinition,
  columnList,
  type ColumnRow,
  columnSettings,
  columnType,
  generatedInParent,
  inheritedColumnFixes,
  parentColumns,
  scratchColumn,
} from "./_schema_columns.ts";
import { planInheritance, scratchParent } from "./_schema_inherit.ts";
import type { Sequences } from "./_schema_sequences.ts";
import {
  notInExtension,
  objectColumns,
  type ObjectRow,
  OPTIONS,
  query,
  type ReadContext,
  USER_SCHEMA,
} from "./_schema_sql.ts";

// Where readers found them before the columns had a file of their own.
export type { ColumnRow } from "./_schema_columns.ts";

interface TableRow extends ObjectRow {
  relkind: "r" | "p" | "f";
  /** The composite type of a typed table (`CREATE TABLE ... OF type`). */
  oftype: string | null;
  /** A foreign table's server and options. */
  server: string | null;
  ftoptions: string | null;
  unlogged: boolean;
  ispartition: boolean;
  bound: string | null;
  partkey: string | null;
  parent: string | null;
  parentoid: number | null;
  /** The parents of an inheritance child, in `inhseqno` order. */
  parents: string[] | null;
  /** The quoted schema name. */
  qschema: string;
  options: string | null;
  tablespace: string | null;
  am: string | null;
  replident: string;
  reltuples: number;
  size: string;
}

interface CheckRow {
  oid: number;
  relid: number;
  q: string;
  def: string;
  validated: boolean;
  islocal: boolean;
  noinherit: boolean;
}

/** `REPLICA IDENTITY` settings other than the default (and index ones, set with the index). */
const REPLICA_IDENTITY: Record<string, string> = { f: "FULL", n: "NOTHING" };

/** Adds plain and partitioned tables and partitions (`columns`: all columns by table). */
export async function readTables(
  ctx: ReadContext,
  sequences: Sequences,
  columns: Map<number, ColumnRow[]>,
): Promise<void> {
  const tables = (await query<TableRow>(
    ctx.sql,
    `SELECT ${objectColumns("c.oid", "c.relname", "c.relowner")},
       c.relkind, c.relpersistence = 'u' AS unlogged, pg_catalog.quote_ident(n.nspname) AS qschema,
       CASE WHEN c.reloftype <> 0 THEN pg_catalog.format_type(c.reloftype, NULL) END AS oftype,
       (SELECT pg_catalog.quote_ident(fs.srvname) FROM pg_catalog.pg_foreign_table ft
          JOIN pg_catalog.pg_foreign_server fs ON fs.oid = ft.ftserver
          WHERE ft.ftrelid = c.oid) AS server,
       (SELECT ${OPTIONS} FROM pg_catalog.pg_foreign_table ft,
          pg_catalog.pg_options_to_table(ft.ftoptions) WHERE ft.ftrelid = c.oid) AS ftoptions,
       c.relispartition AS ispartition,
       pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS bound,
       CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partkey,
       (SELECT pg_catalog.format('%I.%I', pn.nspname, p.relname) FROM pg_catalog.pg_inherits i
          JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
          JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
          WHERE i.inhrelid = c.oid AND c.relispartition) AS parent,
       (SELECT i.inhparent FROM pg_catalog.pg_inherits i
          WHERE i.inhrelid = c.oid AND c.relispartition) AS parentoid,
       (SELECT pg_catalog.array_agg(pg_catalog.format('%I.%I', pn.nspname, p.relname)
            ORDER BY i.inhseqno) FROM pg_catalog.pg_inherits i
          JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
          JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
          WHERE i.inhrelid = c.oid AND NOT c.relispartition) AS parents,
       (SELECT pg_catalog.string_agg(o, ', ') FROM (
          SELECT pg_catalog.unnest(c.reloptions) AS o
          UNION ALL SELECT 'toast.' || pg_catalog.unnest(t.reloptions) FROM pg_catalog.pg_class t
            WHERE t.oid = c.reltoastrelid) x) AS options,
       (SELECT pg_catalog.quote_ident(s.spcname) FROM pg_catalog.pg_tablespace s
          WHERE s.oid = c.reltablespace) AS tablespace,
       (SELECT pg_catalog.quote_ident(m.amname) FROM pg_catalog.pg_am m
          WHERE m.oid = c.relam AND m.amname <> 'heap') AS am,
       c.relreplident AS replident, c.reltuples::float8 AS reltuples,
       pg_catalog.pg_relation_size(c.oid)::text AS size
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'f') AND ${USER_SCHEMA} AND ${
      notInExtension("pg_class", "c.oid")
    }
     ORDER BY n.nspname, c.relname`,
  )).filter((t) => ctx.selected(t.schema, t.name));
  const checks = groupBy(await readChecks(ctx), (c) => c.relid);
  const tableOids = new Set(tables.map((t) => t.oid));
  const parentsOf = groupBy(
    await query<{ relid: number; parent: number }>(
      ctx.sql,
      `SELECT inhrelid AS relid, inhparent AS parent FROM pg_catalog.pg_inherits
       ORDER BY inhrelid, inhseqno`,
    ),
    (r) => r.relid,
  );

  for (const t of tables) {
    const key = catalogKey("pg_class", t.oid);
    const keyword = t.relkind === "f" ? "FOREIGN TABLE" : "TABLE";
    const cols = columns.get(t.oid) ?? [];
    const parents = (parentsOf.get(t.oid) ?? []).map((p) => columns.get(p.parent) ?? []);
    const tableChecks = checks.get(t.oid) ?? [];
    const plan = t.parents === null ? { mode: "inherits" as const } : planInheritance(
      cols.map((c) => ({
        name: c.name,
        local: c.islocal,
        generated: c.generated !== "",
        refs: c.refs ?? [],
      })),
      parents.map((p) => p.map((c) => c.name)),
      tableChecks.some((k) => !k.islocal),
    );
    const scratch = scratchParent(t.qschema, t.oid);
    /** The scratch parent's columns: the child's leading inherited-only ones. */
    const scratchLines: string[] = [];
    const lines: string[] = [];
    /** Statements between `CREATE TABLE` and the parents being inherited (not `inherits`). */
    const build: string[] = [];
    const after: string[] = [];
    const inheritedChecks: string[] = [];
    const inScratch = new Set<string>();
    for (const [i, c] of cols.entries()) {
      const identity = sequences.identity.get(`${t.oid}:${c.attnum}`);
      let clause: string | undefined;
      // Inheritance children leave inherited columns to INHERITS; partitions list them all;
      // typed tables take theirs from the type and only add defaults and NOT NULL.
      if (t.oftype) {
        if (c.defval !== null || c.notnull) {
          lines.push(clause = columnDefinition(c, identity, false));
        }
      } else if (plan.mode === "scratch" && !c.islocal) {
        const definition = scratchColumn(c);
        if (i < plan.leading) scratchLines.push(definition);
        else {
          // The columns its expression uses join the scratch parent first (merged: still local).
          const used = cols.filter((u) => c.refs?.includes(u.name) && !inScratch.has(u.name));
          build.push(
            ...used.map((u) => `ALTER TABLE ${scratch} ADD COLUMN ${columnType(u)};`),
            `ALTER TABLE ${scratch} ADD COLUMN ${definition};`,
          );
          for (const u of used) inScratch.add(u.name);
        }
        inScratch.add(c.name);
        if (c.defval !== null && c.generated === "") {
          after.push(`ALTER ${keyword} ONLY ${t.q} ALTER COLUMN ${c.q} SET DEFAULT ${c.defval};`);
        }
      } else if (plan.mode === "scratch" && i >= plan.leading + plan.local) {
        build.push(`ALTER ${keyword} ONLY ${t.q} ADD COLUMN ${columnDefinition(c, identity)};`);
      } else if (!c.islocal && !t.ispartition) {
        after.push(...inheritedColumnFixes(t.q, c, parentsOf.get(t.oid) ?? [], columns));
      } else if (plan.mode === "inherits" && !t.ispartition && generatedInParent(c, parents)) {
        // PostgreSQL 15 refuses a generation expression on an inherited column: the parent's
        // is the child's (ALTER TABLE ... INHERIT insists that they are the same).
        lines.push(clause = columnDefinition({ ...c, generated: "", defval: null }, identity));
      } else {
        lines.push(clause = columnDefinition(c, identity));
      }
      const inParents = parentColumns(c, parentsOf.get(t.oid) ?? [], columns);
      after.push(...columnSettings(`${keyword} ONLY ${t.q}`, c, inParents));
      if (c.defoid === null) continue;
      const defaultKey = catalogKey("pg_attrdef", c.defoid);
      ctx.graph.alias(defaultKey, key);
      if (c.generated === "" && clause?.startsWith(`${c.q} `)) {
        ctx.graph.defaults.set(defaultKey, {
          table: key,
          clause,
          bare: columnDefinition({ ...c, defval: null }, identity, !t.oftype),
          alter: `ALTER ${keyword} ONLY ${t.q} ALTER COLUMN ${c.q} SET DEFAULT ${c.defval};`,
          deps: new Set(),
        });
      }
    }
    for (const k of tableChecks) {
      const ckey = catalogKey("pg_constraint", k.oid);
      const name = `${k.q} ON ${t.q}`;
      if (!k.islocal && !t.ispartition) {
        ctx.graph.ref(ckey, { node: key, kind: "CONSTRAINT", name });
        if (plan.mode === "scratch") inheritedChecks.push(`ADD CONSTRAINT ${k.q} ${k.def}`);
      } else if (k.validated && plan.mode === "scratch") {
        build.push(`ALTER ${keyword} ONLY ${t.q} ADD CONSTRAINT ${k.q} ${k.def};`);
        ctx.graph.ref(ckey, { node: key, kind: "CONSTRAINT", name });
      } else if (k.validated) {
        const clause = `CONSTRAINT ${k.q} ${k.def}`;
        lines.push(clause);
        ctx.graph.ref(ckey, { node: key, kind: "CONSTRAINT", name });
        ctx.graph.checks.set(ckey, {
          table: key,
          clause,
          alter: `ALTER TABLE ${k.noinherit ? "ONLY " : ""}${t.q} ADD ${clause};`,
          label: `${t.name} ${k.q}`,
          ref: { kind: "CONSTRAINT", name },
          deps: new Set(),
        });
      } else if (k.islocal) {
        ctx.graph.addObject({
          key: ckey,
          priority: Priority.Constraint,
          item: {
            kind: "CHECK CONSTRAINT",
            name: `${t.name} ${k.q}`,
            schema: t.schema,
            owner: t.owner,
            sql: `ALTER TABLE ${
              k.noinherit ? "ONLY " : ""
            }${t.q} ADD CONSTRAINT ${k.q} ${k.def};\n`,
          },
          deps: [key],
        }, { kind: "CONSTRAINT", name });
      }
    }
    let sql = plan.mode === "scratch"
      ? `CREATE TABLE ${scratch}${columnList(scratchLines)};\n`
      : "";
    sql += `CREATE ${t.unlogged ? "UNLOGGED " : ""}${keyword} ${t.q}` +
      (t.oftype ? ` OF ${t.oftype}` : "") + (lines.length || !t.oftype ? columnList(lines) : "");
    if (t.parents && plan.mode === "inherits") sql += `\nINHERITS (${t.parents.join(", ")})`;
    if (plan.mode === "scratch") sql += `\nINHERITS (${scratch})`;
    if (t.partkey) sql += `\nPARTITION BY ${t.partkey}`;
    if (t.am) sql += `\nUSING ${t.am}`;
    if (t.options) sql += `\nWITH (${t.options})`;
    if (t.tablespace) sql += `\nTABLESPACE ${t.tablespace}`;
    if (t.server) sql += `\nSERVER ${t.server}`;
    if (t.ftoptions) sql += `\nOPTIONS (${t.ftoptions})`;
    sql += ";\n";
    if (plan.mode !== "inherits") {
      const alter = `ALTER ${keyword} ONLY ${t.q}`;
      if (inheritedChecks.length) {
        // The scratch parent needs the columns the constraints use: adding them merges.
        const more = cols.filter((c) => !inScratch.has(c.name)).map((c) =>
          `ADD COLUMN ${columnType(c)}`
        );
        build.push(`ALTER TABLE ${scratch} ${[...more, ...inheritedChecks].join(", ")};`);
      }
      const steps = [...build, ...t.parents!.map((p) => `${alter} INHERIT ${p};`)];
      if (plan.mode === "scratch") {
        steps.push(`${alter} NO INHERIT ${scratch};`, `DROP TABLE ${scratch};`);
      }
      sql += steps.map((s) => s + "\n").join("");
    }
    // A foreign table has no replica identity to set.
    const identity = t.relkind === "f" ? undefined : REPLICA_IDENTITY[t.replident];
    if (identity) after.push(`ALTER TABLE ONLY ${t.q} REPLICA IDENTITY ${identity};`);
    sql += after.map((s) => s + "\n").join("");
    const data: TableData | undefined = t.relkind === "r"
      ? {
        oid: t.oid,
        schema: t.schema,
        name: t.name,
        qualifiedName: t.q,
        columns: cols.filter((c) => c.generated === "").map((c) => c.q),
        estimatedRows: t.reltuples,
        sizeBytes: Number(t.size),
      }
      : undefined;
    ctx.graph.addObject({
      key,
      priority: Priority.Table,
      item: {
        kind: keyword,
        name: t.name,
        schema: t.schema,
        owner: t.owner,
        sql,
        drop: `DROP ${keyword} IF EXISTS ${t.q} CASCADE;\n`,
      },
      table: data,
      deps: [...(parentsOf.get(t.oid) ?? [])].map((p) => catalogKey("pg_class", p.parent)),
    }, {
      kind: keyword,
      name: t.q,
      ownerKind: keyword,
      aclKind: "TABLE",
      columns: new Map(cols.map((c) => [c.attnum, c.q])),
    });
    if (t.ispartition && t.parentoid !== null && tableOids.has(t.parentoid)) {
      ctx.graph.add({
        key: `attach:${t.oid}`,
        priority: Priority.TableAttach,
        item: {
          kind: "TABLE ATTACH",
          name: t.name,
          schema: t.schema,
          owner: t.owner,
          sql: `ALTER TABLE ONLY ${t.parent} ATTACH PARTITION ${t.q} ${t.bound};\n`,
        },
        deps: [key, catalogKey("pg_class", t.parentoid)],
      });
    }
  }
}

function readChecks(ctx: ReadContext): Promise<CheckRow[]> {
  return query<CheckRow>(
    ctx.sql,
    `SELECT k.oid, k.conrelid AS relid, pg_catalog.quote_ident(k.conname) AS q,
       pg_catalog.pg_get_constraintdef(k.oid) AS def, k.convalidated AS validated,
       k.conislocal AS islocal, k.connoinherit AS noinherit
     FROM pg_catalog.pg_constraint k
     WHERE k.contype = 'c' AND k.conrelid <> 0
     ORDER BY k.conrelid, k.conname`,
  );
}

/** Groups rows by a key, keeping their order. */
export function groupBy<T, K>(rows: T[], key: (row: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
}
