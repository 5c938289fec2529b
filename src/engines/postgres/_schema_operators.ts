/**
 * Reads operators, operator families and operator classes. Operators name their commutator and
 * negator (`CREATE OPERATOR` makes a shell for one not yet created, filled in when it is).
 * A class lists the members tied to it; members tied only to the family ("loose" ones, such as
 * btree's cross-type functions) are added to the family by `ALTER OPERATOR FAMILY ... ADD` once
 * the class and every operator and function they use exist.
 */
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

/** SQL expression: an operator's oid as `OPERATOR(schema.op)`, for commutator and negator. */
function operatorRef(oid: string): string {
  return `(SELECT 'OPERATOR(' || pg_catalog.quote_ident(rn.nspname) || '.' || r.oprname || ')'
    FROM pg_catalog.pg_operator r JOIN pg_catalog.pg_namespace rn ON rn.oid = r.oprnamespace
    WHERE r.oid = ${oid})`;
}

/** SQL expression: a `regproc` column as its name, or null when unset. */
function procName(column: string): string {
  return `CASE WHEN ${column} <> 0 THEN ${column}::pg_catalog.regproc::text END`;
}

/** Adds operators, families and classes (database-wide, so not with a table filter). */
export async function readOperators(ctx: ReadContext): Promise<void> {
  if (ctx.filtered) return;
  await readOperatorRows(ctx);
  await readFamiliesAndClasses(ctx);
}

async function readOperatorRows(ctx: ReadContext): Promise<void> {
  const rows = await query<{
    oid: number;
    schema: string;
    name: string;
    q: string;
    owner: string;
    args: string;
    options: string;
  }>(
    ctx.sql,
    `SELECT o.oid, n.nspname AS schema, o.oprname AS name,
       pg_catalog.quote_ident(n.nspname) || '.' || o.oprname AS q,
       ${roleName("o.oprowner")} AS owner,
       COALESCE(pg_catalog.format_type(NULLIF(o.oprleft, 0), NULL), 'NONE') || ', ' ||
         pg_catalog.format_type(o.oprright, NULL) AS args,
       pg_catalog.concat_ws(E',\\n    ', 'FUNCTION = ' || o.oprcode::pg_catalog.regproc::text,
         'LEFTARG = ' || pg_catalog.format_type(NULLIF(o.oprleft, 0), NULL),
         'RIGHTARG = ' || pg_catalog.format_type(o.oprright, NULL),
         'COMMUTATOR = ' || ${operatorRef("o.oprcom")},
         'NEGATOR = ' || ${operatorRef("o.oprnegate")},
         'RESTRICT = ' || ${procName("o.oprrest")},
         'JOIN = ' || ${procName("o.oprjoin")},
         CASE WHEN o.oprcanhash THEN 'HASHES' END,
         CASE WHEN o.oprcanmerge THEN 'MERGES' END) AS options
     FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
     WHERE ${USER_SCHEMA} AND ${notInExtension("pg_operator", "o.oid")} AND o.oprcode <> 0
     ORDER BY n.nspname, o.oprname, o.oid`,
  );
  for (const o of rows) {
    ctx.graph.addNamed({
      catalog: "pg_operator",
      keyword: "OPERATOR",
      priority: Priority.Operator,
      row: o,
      name: `${o.q} (${o.args})`,
      label: `${o.name} (${o.args})`,
      sql: `CREATE OPERATOR ${o.q} (\n    ${o.options}\n);\n`,
    });
  }
}

interface FamilyRow extends ObjectRow {
  am: string;
}

interface ClassRow extends FamilyRow {
  isdefault: boolean;
  type: string;
  family: number;
  familyq: string;
  storage: string | null;
}

interface MemberRow {
  cat: "pg_amop" | "pg_amproc";
  oid: number;
  /** `pg_opclass` or `pg_opfamily`: what the member is tied to. */
  ownercat: string;
  ownerid: number;
  sql: string;
}

async function readFamiliesAndClasses(ctx: ReadContext): Promise<void> {
  const families = await query<FamilyRow>(
    ctx.sql,
    `SELECT ${objectColumns("f.oid", "f.opfname", "f.opfowner")},
       pg_catalog.quote_ident(a.amname) AS am
     FROM pg_catalog.pg_opfamily f JOIN pg_catalog.pg_namespace n ON n.oid = f.opfnamespace
     JOIN pg_catalog.pg_am a ON a.oid = f.opfmethod
     WHERE ${USER_SCHEMA} AND ${notInExtension("pg_opfamily", "f.oid")}
     ORDER BY n.nspname, f.opfname, a.amname`,
  );
  const classes = await query<ClassRow>(
    ctx.sql,
    `SELECT ${objectColumns("c.oid", "c.opcname", "c.opcowner")},
       pg_catalog.quote_ident(a.amname) AS am, c.opcdefault AS isdefault,
       pg_catalog.format_type(c.opcintype, NULL) AS type, c.opcfamily AS family,
       (SELECT pg_catalog.format('%I.%I', fn.nspname, f.opfname) FROM pg_catalog.pg_opfamily f
          JOIN pg_catalog.pg_namespace fn ON fn.oid = f.opfnamespace
          WHERE f.oid = c.opcfamily) AS familyq,
       pg_catalog.format_type(NULLIF(c.opckeytype, 0), NULL) AS storage
     FROM pg_catalog.pg_opclass c JOIN pg_catalog.pg_namespace n ON n.oid = c.opcnamespace
     JOIN pg_catalog.pg_am a ON a.oid = c.opcmethod
     WHERE ${USER_SCHEMA} AND ${notInExtension("pg_opclass", "c.oid")}
     ORDER BY n.nspname, c.opcname, a.amname`,
  );
  const members = await query<MemberRow>(
    ctx.sql,
    `SELECT 'pg_amop' AS cat, o.oid, d.refclassid::pg_catalog.regclass::text AS ownercat,
       d.refobjid AS ownerid,
       'OPERATOR ' || o.amopstrategy || ' ' || o.amopopr::pg_catalog.regoperator::text ||
       CASE WHEN o.amoppurpose = 'o' THEN ' FOR ORDER BY ' || (SELECT pg_catalog.format('%I.%I',
         sn.nspname, s.opfname) FROM pg_catalog.pg_opfamily s
         JOIN pg_catalog.pg_namespace sn ON sn.oid = s.opfnamespace
         WHERE s.oid = o.amopsortfamily) ELSE '' END AS sql
     FROM pg_catalog.pg_amop o JOIN pg_catalog.pg_depend d
       ON d.classid = 'pg_catalog.pg_amop'::pg_catalog.regclass AND d.objid = o.oid
       AND d.refclassid IN ('pg_catalog.pg_opclass'::pg_catalog.regclass,
         'pg_catalog.pg_opfamily'::pg_catalog.regclass)
     WHERE o.oid >= 16384
     UNION ALL
     SELECT 'pg_amproc', p.oid, d.refclassid::pg_catalog.regclass::text, d.refobjid,
       'FUNCTION ' || p.amprocnum || ' (' || pg_catalog.format_type(p.amproclefttype, NULL) ||
       ', ' || pg_catalog.format_type(p.amprocrighttype, NULL) || ') ' ||
       p.amproc::pg_catalog.regprocedure::text
     FROM pg_catalog.pg_amproc p JOIN pg_catalog.pg_depend d
       ON d.classid = 'pg_catalog.pg_amproc'::pg_catalog.regclass AND d.objid = p.oid
       AND d.refclassid IN ('pg_catalog.pg_opclass'::pg_catalog.regclass,
         'pg_catalog.pg_opfamily'::pg_catalog.regclass)
     WHERE p.oid >= 16384
     ORDER BY cat DESC, sql`,
  );
  const membersOf = (cat: string, oid: number) =>
    members.filter((m) => m.ownercat === cat && m.ownerid === oid);

  for (const f of families) {
    const key = catalogKey("pg_opfamily", f.oid);
    const name = `${f.q} USING ${f.am}`;
    ctx.graph.addNamed({
      catalog: "pg_opfamily",
      keyword: "OPERATOR FAMILY",
      priority: Priority.OperatorFamily,
      row: f,
      name,
      sql: `CREATE OPERATOR FAMILY ${name};\n`,
    });
    const loose = membersOf("pg_opfamily", f.oid);
    if (loose.length === 0) continue;
    const membersKey = `opfamily-members:${f.oid}`;
    ctx.graph.add({
      key: membersKey,
      priority: Priority.OperatorFamilyMembers,
      item: {
        kind: "OPERATOR FAMILY MEMBERS",
        name: f.name,
        schema: f.schema,
        owner: f.owner,
        sql: `ALTER OPERATOR FAMILY ${name} ADD\n    ${loose.map((m) => m.sql).join(",\n    ")};\n`,
      },
      // After the classes of the family: a class would refuse a member already there.
      deps: [key, ...classes.filter((c) => c.family === f.oid).map((c) => `pg_opclass:${c.oid}`)],
    });
    for (const m of loose) ctx.graph.alias(catalogKey(m.cat, m.oid), membersKey);
  }

  for (const c of classes) {
    const key = catalogKey("pg_opclass", c.oid);
    const name = `${c.q} USING ${c.am}`;
    const own = membersOf("pg_opclass", c.oid);
    // A class needs one item; with every member loose, pg_dump's no-op `STORAGE <its type>`.
    const storage = c.storage ?? (own.length === 0 ? c.type : null);
    const items = [...own.map((m) => m.sql), ...(storage ? [`STORAGE ${storage}`] : [])];
    ctx.graph.addNamed({
      catalog: "pg_opclass",
      keyword: "OPERATOR CLASS",
      priority: Priority.OperatorClass,
      row: c,
      name,
      sql: `CREATE OPERATOR CLASS ${c.q}\n    ${c.isdefault ? "DEFAULT " : ""}FOR TYPE ${c.type} ` +
        `USING ${c.am} FAMILY ${c.familyq} AS\n    ${items.join(",\n    ")};\n`,
      deps: [catalogKey("pg_opfamily", c.family)],
    });
    for (const m of own) ctx.graph.alias(catalogKey(m.cat, m.oid), key);
  }
}
