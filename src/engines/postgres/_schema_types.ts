/**
 * Reads extensions, schemas and user-defined types (enum, domain, composite, range) into the
 * schema graph. Types are what tables and functions are built from, so they come first unless a
 * dependency (a domain CHECK calling a function) says otherwise.
 */
import { addShellType } from "./_schema_base_types.ts";
import { catalogKey, Priority } from "./_schema_graph.ts";
import {
  notInExtension,
  objectColumns,
  type ObjectRow,
  query,
  type ReadContext,
  roleName,
  USER_SCHEMA,
} from "./_schema_sql.ts";

/** pg_dump 15 leaves `public` alone unless its owner, ACL or comment changed from these. */
const PUBLIC_OWNER = "pg_database_owner";
const PUBLIC_ACL = "{pg_database_owner=UC/pg_database_owner,=U/pg_database_owner}";

/** Adds extensions and schemas. */
export async function readSchemas(ctx: ReadContext): Promise<void> {
  if (ctx.filtered) return await readSchemasOfSelectedTables(ctx);
  const schemas = await query<
    { oid: number; name: string; q: string; owner: string; acl: string | null }
  >(
    ctx.sql,
    `SELECT n.oid, n.nspname AS name, pg_catalog.quote_ident(n.nspname) AS q,
       ${roleName("n.nspowner")} AS owner, n.nspacl::text AS acl
     FROM pg_catalog.pg_namespace n
     WHERE ${USER_SCHEMA} AND ${notInExtension("pg_namespace", "n.oid")}
     ORDER BY n.nspname`,
  );
  for (const s of schemas) {
    const key = catalogKey("pg_namespace", s.oid);
    const isPublic = s.name === "public";
    ctx.graph.add({
      key,
      priority: Priority.Schema,
      item: {
        kind: "SCHEMA",
        name: s.name,
        owner: s.owner,
        sql: isPublic ? "" : `CREATE SCHEMA ${s.q};\n`,
        drop: isPublic ? undefined : `DROP SCHEMA IF EXISTS ${s.q} CASCADE;\n`,
      },
    });
    const keepOwner = !isPublic || s.owner !== PUBLIC_OWNER;
    const keepAcl = !isPublic || s.acl !== PUBLIC_ACL;
    ctx.graph.ref(key, {
      node: key,
      kind: "SCHEMA",
      name: s.q,
      ownerKind: keepOwner ? "SCHEMA" : undefined,
      aclKind: keepAcl ? "SCHEMA" : undefined,
      owner: s.owner,
    });
  }

  const extensions = await query<{ oid: number; name: string; q: string; schema: string }>(
    ctx.sql,
    `SELECT x.oid, x.extname AS name, pg_catalog.quote_ident(x.extname) AS q,
       pg_catalog.quote_ident(n.nspname) AS schema
     FROM pg_catalog.pg_extension x JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace
     WHERE x.oid >= 16384
     ORDER BY x.extname`,
  );
  for (const x of extensions) {
    const key = catalogKey("pg_extension", x.oid);
    ctx.graph.addObject({
      key,
      priority: Priority.Extension,
      item: {
        kind: "EXTENSION",
        name: x.name,
        sql: `CREATE EXTENSION IF NOT EXISTS ${x.q} WITH SCHEMA ${x.schema};\n`,
        drop: `DROP EXTENSION IF EXISTS ${x.q} CASCADE;\n`,
      },
    }, { kind: "EXTENSION", name: x.q });
  }
}

/**
 * With `--table`, like `pg_dump -t`, schemas are not part of the backup; but a backup of
 * `sales.orders` restored into a new database would then fail on the missing schema, so the
 * schemas holding selected tables are created if absent (never dropped by `--clean`, no owner).
 */
async function readSchemasOfSelectedTables(ctx: ReadContext): Promise<void> {
  const tables = await query<{ oid: number; schema: string; q: string; name: string }>(
    ctx.sql,
    `SELECT n.oid, n.nspname AS schema, pg_catalog.quote_ident(n.nspname) AS q, c.relname AS name
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'f') AND n.nspname <> 'public' AND ${USER_SCHEMA}
     ORDER BY n.nspname`,
  );
  const added = new Set<number>();
  for (const t of tables) {
    if (added.has(t.oid) || !ctx.selected(t.schema, t.name)) continue;
    added.add(t.oid);
    ctx.graph.add({
      key: catalogKey("pg_namespace", t.oid),
      priority: Priority.Schema,
      item: { kind: "SCHEMA", name: t.schema, sql: `CREATE SCHEMA IF NOT EXISTS ${t.q};\n` },
    });
  }
}

interface TypeRow extends ObjectRow {
  typtype: "e" | "d" | "c" | "r";
  typrelid: number;
  labels: string | null;
  base: string | null;
  collation: string | null;
  notnull: boolean;
  defval: string | null;
  attrs: string | null;
  range: string | null;
  /** A range type's canonical function, which must be created between its shell and it. */
  canonical: number | null;
  /** A composite type's columns as `[attnum, quoted name]`, for comments on them. */
  columns: [number, string][] | null;
}

/** Adds enum, domain, composite and range types (with domain constraints). */
export async function readTypes(ctx: ReadContext): Promise<void> {
  if (ctx.filtered) return;
  const types = await query<TypeRow>(
    ctx.sql,
    `SELECT ${objectColumns("t.oid", "t.typname", "t.typowner")},
       t.typtype, t.typrelid,
       (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(e.enumlabel), ', '
          ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid) AS labels,
       pg_catalog.format_type(t.typbasetype, t.typtypmod) AS base,
       (SELECT pg_catalog.format('%I.%I', cn.nspname, co.collname)
          FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
          WHERE co.oid = t.typcollation AND t.typcollation <> (SELECT bt.typcollation
            FROM pg_catalog.pg_type bt WHERE bt.oid = t.typbasetype)) AS collation,
       t.typnotnull AS notnull,
       -- The default deparsed now (names qualified), not typdefault: that is the text as written
       -- under the creator's search_path ("nextval('s')"), which the restore could not resolve.
       COALESCE(pg_catalog.pg_get_expr(t.typdefaultbin, 0), t.typdefault) AS defval,
       (SELECT pg_catalog.string_agg(pg_catalog.format('%I %s', a.attname,
            pg_catalog.format_type(a.atttypid, a.atttypmod)) ||
          CASE WHEN a.attcollation <> at.typcollation THEN ' COLLATE ' ||
            (SELECT pg_catalog.format('%I.%I', cn.nspname, co.collname)
             FROM pg_catalog.pg_collation co
             JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
             WHERE co.oid = a.attcollation) ELSE '' END, E',\\n    ' ORDER BY a.attnum)
        FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type at ON at.oid = a.atttypid
        WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) AS attrs,
       (SELECT 'subtype = ' || pg_catalog.format_type(r.rngsubtype, NULL) ||
          ', multirange_type_name = ' || (SELECT pg_catalog.format('%I.%I', mn.nspname, m.typname)
            FROM pg_catalog.pg_type m JOIN pg_catalog.pg_namespace mn ON mn.oid = m.typnamespace
            WHERE m.oid = r.rngmultitypid) ||
          CASE WHEN oc.opcdefault THEN '' ELSE ', subtype_opclass = ' ||
            pg_catalog.format('%I.%I', ocn.nspname, oc.opcname) END ||
          CASE WHEN r.rngcollation = 0 OR r.rngcollation = st.typcollation THEN ''
            ELSE ', collation = ' || (SELECT pg_catalog.format('%I.%I', cn.nspname, co.collname)
              FROM pg_catalog.pg_collation co
              JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
              WHERE co.oid = r.rngcollation) END ||
          CASE WHEN r.rngcanonical = 0 THEN '' ELSE ', canonical = ' || r.rngcanonical::pg_catalog.regproc::text END ||
          CASE WHEN r.rngsubdiff = 0 THEN '' ELSE ', subtype_diff = ' || r.rngsubdiff::pg_catalog.regproc::text END
        FROM pg_catalog.pg_range r
        JOIN pg_catalog.pg_type st ON st.oid = r.rngsubtype
        JOIN pg_catalog.pg_opclass oc ON oc.oid = r.rngsubopc
        JOIN pg_catalog.pg_namespace ocn ON ocn.oid = oc.opcnamespace
        WHERE r.rngtypid = t.oid) AS range,
       (SELECT NULLIF(r.rngcanonical, 0) FROM pg_catalog.pg_range r
          WHERE r.rngtypid = t.oid) AS canonical,
       (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.attnum,
            pg_catalog.quote_ident(a.attname)) ORDER BY a.attnum)
        FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
     FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
     WHERE ${USER_SCHEMA} AND ${notInExtension("pg_type", "t.oid")}
       AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND
         (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c'))
     ORDER BY n.nspname, t.typname`,
  );
  const constraints = await readDomainConstraints(ctx);
  for (const t of types) {
    const key = catalogKey("pg_type", t.oid);
    const keyword = t.typtype === "d" ? "DOMAIN" : "TYPE";
    let sql: string;
    if (t.typtype === "e") sql = `CREATE TYPE ${t.q} AS ENUM (${t.labels ?? ""});\n`;
    else if (t.typtype === "c") sql = `CREATE TYPE ${t.q} AS (\n    ${t.attrs ?? ""}\n);\n`;
    else if (t.typtype === "r") sql = `CREATE TYPE ${t.q} AS RANGE (${t.range});\n`;
    else {
      sql = `CREATE DOMAIN ${t.q} AS ${t.base}` +
        (t.collation ? ` COLLATE ${t.collation}` : "") +
        (t.defval !== null ? ` DEFAULT ${t.defval}` : "") +
        (t.notnull ? " NOT NULL" : "");
      for (const c of constraints.filter((c) => c.typid === t.oid)) {
        if (c.validated) {
          const clause = `CONSTRAINT ${c.q} ${c.def}`;
          sql += `\n    ${clause}`;
          const ref = { kind: "CONSTRAINT", name: `${c.q} ON DOMAIN ${t.q}` };
          ctx.graph.ref(catalogKey("pg_constraint", c.oid), { node: key, ...ref });
          // Moved out if it calls a function of the domain (see _schema_cycles.ts).
          ctx.graph.checks.set(catalogKey("pg_constraint", c.oid), {
            table: key,
            clause,
            alter: `ALTER DOMAIN ${t.q} ADD ${clause};`,
            label: `${t.name} ${c.q}`,
            ref,
            deps: new Set(),
          });
        } else addNotValidDomainConstraint(ctx, t, c);
      }
      sql += ";\n";
    }
    ctx.graph.addObject({
      key,
      priority: Priority.Type,
      item: {
        kind: keyword === "DOMAIN" ? "DOMAIN" : "TYPE",
        name: t.name,
        schema: t.schema,
        owner: t.owner,
        sql,
        drop: `DROP ${keyword} IF EXISTS ${t.q} CASCADE;\n`,
      },
    }, { kind: keyword, name: t.q, ownerKind: keyword, aclKind: keyword });
    // A composite type's columns are a pg_class row: comments on them and their dependencies.
    if (t.typrelid !== 0) {
      ctx.graph.ref(catalogKey("pg_class", t.typrelid), {
        node: key,
        kind: "TYPE",
        name: t.q,
        columns: new Map(t.columns ?? []),
      });
    }
    if (t.canonical !== null) addShellType(ctx, t, [t.canonical]);
  }
}

/**
 * Adds shell types that were never defined (`CREATE TYPE name;` alone): functions may take or
 * return one, and it can carry an owner and a comment. Shells of base and range types come
 * with their type (`addShellType`).
 */
export async function readShellTypes(ctx: ReadContext): Promise<void> {
  if (ctx.filtered) return;
  const rows = await query<ObjectRow>(
    ctx.sql,
    `SELECT ${objectColumns("t.oid", "t.typname", "t.typowner")}
     FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
     WHERE t.typtype = 'p' AND NOT t.typisdefined AND ${USER_SCHEMA}
       AND ${notInExtension("pg_type", "t.oid")}
     ORDER BY n.nspname, t.typname`,
  );
  for (const t of rows) {
    ctx.graph.addNamed({
      catalog: "pg_type",
      keyword: "TYPE",
      priority: Priority.Type,
      row: t,
      sql: `CREATE TYPE ${t.q};\n`,
      label: t.name,
    });
  }
}

interface DomainConstraint {
  oid: number;
  typid: number;
  q: string;
  def: string;
  validated: boolean;
}

function readDomainConstraints(ctx: ReadContext): Promise<DomainConstraint[]> {
  return query<DomainConstraint>(
    ctx.sql,
    `SELECT c.oid, c.contypid AS typid, pg_catalog.quote_ident(c.conname) AS q,
       pg_catalog.pg_get_constraintdef(c.oid) AS def, c.convalidated AS validated
     FROM pg_catalog.pg_constraint c WHERE c.contypid <> 0 ORDER BY c.conname`,
  );
}

/** A NOT VALID domain constraint is added after the data, as it is not checked there. */
function addNotValidDomainConstraint(
  ctx: ReadContext,
  t: TypeRow,
  c: DomainConstraint,
): void {
  const key = catalogKey("pg_constraint", c.oid);
  ctx.graph.addObject({
    key,
    priority: Priority.Constraint,
    item: {
      kind: "CHECK CONSTRAINT",
      name: `${t.name} ${c.q}`,
      schema: t.schema,
      owner: t.owner,
      sql: `ALTER DOMAIN ${t.q} ADD CONSTRAINT ${c.q} ${c.def};\n`,
    },
    deps: [catalogKey("pg_type", t.oid)],
  }, { kind: "CONSTRAINT", name: `${c.q} ON DOMAIN ${t.q}` });
}
