/**
 * Reads primary key, unique, exclusion and foreign key constraints and indexes: all built after
 * the data (faster, and nothing rejects a restored row), foreign keys last so cycles load.
 * Partitioned indexes are created `ON ONLY` the parent and their partitions' indexes attached.
 */
import { catalogKey, Priority } from "./_schema_graph.ts";
import { qualified, query, type ReadContext, USER_SCHEMA } from "./_schema_sql.ts";

interface ConstraintRow {
  oid: number;
  relid: number;
  contype: "p" | "u" | "x" | "f";
  name: string;
  q: string;
  def: string;
  index: number;
  indexq: string | null;
  parentconstraint: number;
  table: string;
  relkind: string;
  owner: string;
  /** The tablespace of the constraint's index, when not the default. */
  tablespace: string | null;
}

interface IndexRow {
  oid: number;
  relid: number;
  name: string;
  q: string;
  bare: string;
  def: string;
  clustered: boolean;
  replident: boolean;
  parent: number | null;
  parentq: string | null;
  table: string;
  stats: string | null;
  constraint: boolean;
  /** A tablespace other than the database's default (`pg_get_indexdef` leaves it out). */
  tablespace: string | null;
}

/** Adds constraints, indexes and index attachments for the dumped tables. */
export async function readIndexes(ctx: ReadContext): Promise<void> {
  const constraints = await query<ConstraintRow>(
    ctx.sql,
    `SELECT k.oid, k.conrelid AS relid, k.contype, k.conname AS name,
       pg_catalog.quote_ident(k.conname) AS q, pg_catalog.pg_get_constraintdef(k.oid) AS def,
       k.conindid AS index, k.conparentid AS parentconstraint, c.relkind,
       (SELECT pg_catalog.format('%I.%I', n.nspname, ic.relname) FROM pg_catalog.pg_class ic
          JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
          WHERE ic.oid = k.conindid) AS indexq,
       ${qualified("c.relname")} AS table,
       (SELECT pg_catalog.quote_ident(s.spcname) FROM pg_catalog.pg_class ic
          JOIN pg_catalog.pg_tablespace s ON s.oid = ic.reltablespace
          WHERE ic.oid = k.conindid AND k.contype <> 'f') AS tablespace
     FROM pg_catalog.pg_constraint k
     JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE k.contype IN ('p', 'u', 'x', 'f') AND ${USER_SCHEMA}
     ORDER BY n.nspname, c.relname, k.conname`,
  );
  for (const k of constraints) {
    const table = ctx.graph.node(catalogKey("pg_class", k.relid));
    if (!table) continue;
    const fk = k.contype === "f";
    // Foreign keys cloned onto partitions come with the parent's constraint.
    if (fk && k.parentconstraint !== 0) continue;
    const key = catalogKey("pg_constraint", k.oid);
    const only = fk && k.relkind === "p" ? "" : "ONLY ";
    ctx.graph.addObject({
      key,
      priority: fk ? Priority.ForeignKey : Priority.Constraint,
      item: {
        kind: fk ? "FK CONSTRAINT" : "CONSTRAINT",
        name: `${table.item.name} ${k.name}`,
        schema: table.item.schema,
        owner: table.item.owner,
        sql: inTablespace(
          k.tablespace,
          `ALTER TABLE ${only}${k.table} ADD CONSTRAINT ${k.q} ${k.def};\n`,
        ),
      },
      deps: [table.key],
    }, { kind: "CONSTRAINT", name: `${k.q} ON ${k.table}` });
    if (!fk && k.index !== 0) {
      ctx.graph.ref(catalogKey("pg_class", k.index), { node: key, kind: "INDEX", name: k.indexq! });
    }
  }

  const indexes = await query<IndexRow>(
    ctx.sql,
    `SELECT i.indexrelid AS oid, i.indrelid AS relid, ic.relname AS name,
       ${qualified("ic.relname")} AS q, pg_catalog.quote_ident(ic.relname) AS bare,
       pg_catalog.pg_get_indexdef(i.indexrelid) AS def,
       i.indisclustered AS clustered, i.indisreplident AS replident,
       (SELECT h.inhparent FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid) AS parent,
       (SELECT pg_catalog.format('%I.%I', pn.nspname, p.relname) FROM pg_catalog.pg_inherits h
          JOIN pg_catalog.pg_class p ON p.oid = h.inhparent
          JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
          WHERE h.inhrelid = i.indexrelid) AS parentq,
       (SELECT pg_catalog.format('%I.%I', tn.nspname, t.relname) FROM pg_catalog.pg_class t
          JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
          WHERE t.oid = i.indrelid) AS table,
       (SELECT pg_catalog.string_agg(pg_catalog.format(
            'ALTER INDEX %s ALTER COLUMN %s SET STATISTICS %s;',
            ${qualified("ic.relname")}, a.attnum, a.attstattarget), E'\\n' ORDER BY a.attnum)
          FROM pg_catalog.pg_attribute a
          WHERE a.attrelid = i.indexrelid AND a.attstattarget >= 0) AS stats,
       (SELECT pg_catalog.quote_ident(s.spcname) FROM pg_catalog.pg_tablespace s
          WHERE s.oid = ic.reltablespace) AS tablespace,
       EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conindid = i.indexrelid
         AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x')) AS constraint
     FROM pg_catalog.pg_index i
     JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
     JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
     WHERE ${USER_SCHEMA}
     ORDER BY n.nspname, ic.relname`,
  );
  for (const x of indexes) {
    const table = ctx.graph.node(catalogKey("pg_class", x.relid));
    if (!table) continue;
    const key = catalogKey("pg_class", x.oid);
    let extra = "";
    if (x.clustered) extra += `ALTER TABLE ${x.table} CLUSTER ON ${x.bare};\n`;
    if (x.replident) {
      extra += `ALTER TABLE ONLY ${x.table} REPLICA IDENTITY USING INDEX ${x.bare};\n`;
    }
    if (!x.constraint) {
      if (x.stats) extra += `${x.stats}\n`;
      ctx.graph.addObject({
        key,
        priority: Priority.Index,
        item: {
          kind: "INDEX",
          name: x.name,
          schema: table.item.schema,
          owner: table.item.owner,
          sql: inTablespace(x.tablespace, `${x.def};\n`) + extra,
          drop: `DROP INDEX IF EXISTS ${x.q} CASCADE;\n`,
        },
        deps: [table.key],
      }, { kind: "INDEX", name: x.q });
    } else if (extra) {
      ctx.graph.node(key)?.after.push({ kind: "INDEX", name: x.name, sql: extra });
    }
  }
  // Attachments once every index exists (a partition's index may sort before its parent's).
  for (const x of indexes) {
    const table = ctx.graph.node(catalogKey("pg_class", x.relid));
    if (!table) continue;
    const key = catalogKey("pg_class", x.oid);
    if (x.parent !== null && ctx.graph.node(catalogKey("pg_class", x.parent))) {
      ctx.graph.add({
        key: `index-attach:${x.oid}`,
        priority: Priority.IndexAttach,
        item: {
          kind: "INDEX ATTACH",
          name: x.name,
          schema: table.item.schema,
          sql: `ALTER INDEX ${x.parentq} ATTACH PARTITION ${x.q};\n`,
        },
        deps: [key, catalogKey("pg_class", x.parent)],
      });
    }
  }
}

/**
 * An index statement created in a tablespace: as pg_dump does, through `default_tablespace`,
 * because `CREATE INDEX` puts its `TABLESPACE` clause in the middle (before `WHERE`).
 */
function inTablespace(tablespace: string | null, sql: string): string {
  if (!tablespace) return sql;
  return `SET default_tablespace = ${tablespace};\n${sql}SET default_tablespace = '';\n`;
}
