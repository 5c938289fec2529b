/**
 * Reads what must not act on restored rows and so comes after the data: triggers (with their
 * enabled state, also where a partition's clone of one differs from its parent's), rules,
 * row-level security policies and switches, extended statistics and event triggers.
 */
import { catalogKey, Priority } from "./_schema_graph.ts";
import { notInExtension, qualified, query, type ReadContext, roleName } from "./_schema_sql.ts";

/** `ALTER ... ENABLE/DISABLE` for a non-default enabled state (`O` is the default). */
function enabledState(prefix: string, what: string, state: string): string {
  const action = { D: "DISABLE", R: "ENABLE REPLICA", A: "ENABLE ALWAYS" }[state];
  return action ? `${[prefix, action, what].filter((s) => s).join(" ")};\n` : "";
}

/** Adds triggers, rules, policies, row-level security flags and extended statistics. */
export async function readTableExtras(ctx: ReadContext): Promise<void> {
  const table = (relid: number) => ctx.graph.node(catalogKey("pg_class", relid));
  const tableName = `(SELECT pg_catalog.format('%I.%I', tn.nspname, t.relname)
    FROM pg_catalog.pg_class t JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
    WHERE t.oid = RELID)`;

  const triggers = await query<
    { oid: number; relid: number; name: string; q: string; def: string; state: string; t: string }
  >(
    ctx.sql,
    `SELECT g.oid, g.tgrelid AS relid, g.tgname AS name, pg_catalog.quote_ident(g.tgname) AS q,
       pg_catalog.pg_get_triggerdef(g.oid) AS def, g.tgenabled AS state,
       ${tableName.replace("RELID", "g.tgrelid")} AS t
     FROM pg_catalog.pg_trigger g
     WHERE NOT g.tgisinternal AND g.tgparentid = 0
     ORDER BY g.tgrelid, g.tgname`,
  );
  for (const g of triggers) {
    const node = table(g.relid);
    if (!node) continue;
    const key = catalogKey("pg_trigger", g.oid);
    ctx.graph.addObject({
      key,
      priority: Priority.Trigger,
      item: {
        kind: "TRIGGER",
        name: `${node.item.name} ${g.name}`,
        schema: node.item.schema,
        owner: node.item.owner,
        sql: `${g.def};\n` + enabledState(`ALTER TABLE ${g.t}`, `TRIGGER ${g.q}`, g.state),
      },
      deps: [node.key],
    }, { kind: "TRIGGER", name: `${g.q} ON ${g.t}` });
  }

  // A partition's clone of a trigger takes the state its parent's trigger gives it (ALTER TABLE
  // on the parent recurses); one set otherwise is set again on the partition, parents first.
  const clones = await query<
    { oid: number; relid: number; parent: number; name: string; q: string; state: string } & {
      t: string;
      differs: boolean;
    }
  >(
    ctx.sql,
    `SELECT g.oid, g.tgrelid AS relid, g.tgparentid AS parent, g.tgname AS name,
       pg_catalog.quote_ident(g.tgname) AS q, g.tgenabled AS state,
       ${tableName.replace("RELID", "g.tgrelid")} AS t, g.tgenabled <> p.tgenabled AS differs
     FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_trigger p ON p.oid = g.tgparentid
     ORDER BY g.tgrelid, g.tgname`,
  );
  for (const g of clones) {
    // A clone is its root trigger's doing: what follows it follows the root's statement.
    ctx.graph.alias(catalogKey("pg_trigger", g.oid), catalogKey("pg_trigger", g.parent));
    const node = table(g.relid);
    if (!node || !g.differs) continue;
    const action = { O: "ENABLE", D: "DISABLE", R: "ENABLE REPLICA", A: "ENABLE ALWAYS" }[g.state];
    ctx.graph.add({
      key: `trigger-state:${g.oid}`,
      priority: Priority.Trigger,
      item: {
        kind: "TRIGGER STATE",
        name: `${node.item.name} ${g.name}`,
        schema: node.item.schema,
        owner: node.item.owner,
        sql: `ALTER TABLE ${g.t} ${action} TRIGGER ${g.q};\n`,
      },
      deps: [node.key, catalogKey("pg_trigger", g.parent), `trigger-state:${g.parent}`],
    });
  }

  const rules = await query<
    { oid: number; relid: number; name: string; q: string; def: string; state: string; t: string }
  >(
    ctx.sql,
    `SELECT r.oid, r.ev_class AS relid, r.rulename AS name, pg_catalog.quote_ident(r.rulename) AS q,
       pg_catalog.pg_get_ruledef(r.oid) AS def, r.ev_enabled AS state,
       ${tableName.replace("RELID", "r.ev_class")} AS t
     FROM pg_catalog.pg_rewrite r WHERE r.rulename <> '_RETURN'
     ORDER BY r.ev_class, r.rulename`,
  );
  for (const r of rules) {
    const node = table(r.relid);
    if (!node) continue;
    const key = catalogKey("pg_rewrite", r.oid);
    ctx.graph.addObject({
      key,
      priority: Priority.Rule,
      item: {
        kind: "RULE",
        name: `${node.item.name} ${r.name}`,
        schema: node.item.schema,
        owner: node.item.owner,
        sql: `${r.def.trim()}\n` + enabledState(`ALTER TABLE ${r.t}`, `RULE ${r.q}`, r.state),
      },
      deps: [node.key],
    }, { kind: "RULE", name: `${r.q} ON ${r.t}` });
  }

  const policies = await query<
    { oid: number; relid: number; name: string; q: string; sql: string; t: string }
  >(
    ctx.sql,
    `SELECT p.oid, p.polrelid AS relid, p.polname AS name, pg_catalog.quote_ident(p.polname) AS q,
       ${tableName.replace("RELID", "p.polrelid")} AS t,
       ' AS ' || CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END ||
       ' FOR ' || CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
         WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END ||
       ' TO ' || (SELECT pg_catalog.string_agg(${roleName("r.r")}, ', ' ORDER BY r.n)
         FROM pg_catalog.unnest(p.polroles) WITH ORDINALITY AS r(r, n)) ||
       COALESCE(' USING (' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')', '') ||
       COALESCE(' WITH CHECK (' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) || ')', '')
         AS sql
     FROM pg_catalog.pg_policy p ORDER BY p.polrelid, p.polname`,
  );
  for (const p of policies) {
    const node = table(p.relid);
    if (!node) continue;
    const key = catalogKey("pg_policy", p.oid);
    ctx.graph.addObject({
      key,
      priority: Priority.Policy,
      item: {
        kind: "POLICY",
        name: `${node.item.name} ${p.name}`,
        schema: node.item.schema,
        owner: node.item.owner,
        sql: `CREATE POLICY ${p.q} ON ${p.t}${p.sql};\n`,
      },
      deps: [node.key],
    }, { kind: "POLICY", name: `${p.q} ON ${p.t}` });
  }

  const secured = await query<{ oid: number; q: string; enabled: boolean; forced: boolean }>(
    ctx.sql,
    `SELECT c.oid, ${qualified("c.relname")} AS q, c.relrowsecurity AS enabled,
       c.relforcerowsecurity AS forced
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relrowsecurity OR c.relforcerowsecurity`,
  );
  for (const s of secured) {
    const node = table(s.oid);
    if (!node) continue;
    ctx.graph.add({
      key: `row-security:${s.oid}`,
      priority: Priority.RowSecurity,
      item: {
        kind: "ROW SECURITY",
        name: node.item.name,
        schema: node.item.schema,
        owner: node.item.owner,
        sql: (s.enabled ? `ALTER TABLE ${s.q} ENABLE ROW LEVEL SECURITY;\n` : "") +
          (s.forced ? `ALTER TABLE ${s.q} FORCE ROW LEVEL SECURITY;\n` : ""),
      },
      deps: [node.key],
    });
  }

  const statistics = await query<
    { oid: number; relid: number; schema: string; name: string; q: string; owner: string } & {
      def: string;
      target: number;
    }
  >(
    ctx.sql,
    `SELECT s.oid, s.stxrelid AS relid, n.nspname AS schema, s.stxname AS name,
       ${qualified("s.stxname")} AS q, ${roleName("s.stxowner")} AS owner,
       pg_catalog.pg_get_statisticsobjdef(s.oid) AS def, s.stxstattarget AS target
     FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
     WHERE ${notInExtension("pg_statistic_ext", "s.oid")}
     ORDER BY n.nspname, s.stxname`,
  );
  for (const s of statistics) {
    const node = table(s.relid);
    if (!node) continue;
    const key = catalogKey("pg_statistic_ext", s.oid);
    ctx.graph.addObject({
      key,
      priority: Priority.Statistics,
      item: {
        kind: "STATISTICS",
        name: s.name,
        schema: s.schema,
        owner: s.owner,
        sql: `${s.def};\n` +
          (s.target >= 0 ? `ALTER STATISTICS ${s.q} SET STATISTICS ${s.target};\n` : ""),
        drop: `DROP STATISTICS IF EXISTS ${s.q};\n`,
      },
      deps: [node.key],
    }, { kind: "STATISTICS", name: s.q, ownerKind: "STATISTICS" });
  }
}

/** Adds event triggers (database-wide, so not with a table filter). */
export async function readEventTriggers(ctx: ReadContext): Promise<void> {
  if (ctx.filtered) return;
  const rows = await query<
    { oid: number; name: string; q: string; owner: string; sql: string; state: string }
  >(
    ctx.sql,
    `SELECT e.oid, e.evtname AS name, pg_catalog.quote_ident(e.evtname) AS q,
       ${roleName("e.evtowner")} AS owner, e.evtenabled AS state,
       'CREATE EVENT TRIGGER ' || pg_catalog.quote_ident(e.evtname) || ' ON ' ||
       pg_catalog.quote_ident(e.evtevent) ||
       COALESCE(E'\\n    WHEN TAG IN (' || (SELECT pg_catalog.string_agg(
         pg_catalog.quote_literal(t), ', ') FROM pg_catalog.unnest(e.evttags) t) || ')', '') ||
       E'\\n    EXECUTE FUNCTION ' || e.evtfoid::pg_catalog.regproc::text || '();' AS sql
     FROM pg_catalog.pg_event_trigger e
     WHERE ${notInExtension("pg_event_trigger", "e.oid")}
     ORDER BY e.evtname`,
  );
  for (const e of rows) {
    const key = catalogKey("pg_event_trigger", e.oid);
    ctx.graph.addObject({
      key,
      priority: Priority.EventTrigger,
      item: {
        kind: "EVENT TRIGGER",
        name: e.name,
        owner: e.owner,
        sql: `${e.sql}\n` + enabledState(`ALTER EVENT TRIGGER ${e.q}`, "", e.state),
        drop: `DROP EVENT TRIGGER IF EXISTS ${e.q};\n`,
      },
    }, { kind: "EVENT TRIGGER", name: e.q, ownerKind: "EVENT TRIGGER" });
  }
}
