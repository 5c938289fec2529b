/**
 * Reads the database's logical replication subscriptions as pg_dump writes them: with
 * `connect = false` (so also disabled, no slot created, no initial copy), naming the slot they
 * used, so a restored copy never starts replicating or touches the publisher on its own; turn
 * one on with `ALTER SUBSCRIPTION ... ENABLE` (and `REFRESH PUBLICATION`) when wanted.
 *
 * The connection string is in the backup as it is in the catalog, password included, as in a
 * pg_dump script: guard the backup like the database. Only superusers can read it, so, like
 * pg_dump, others' dumps leave subscriptions out. It never goes into an item's name, nor on the
 * statement's first line, which is what a restore error quotes.
 */
import { catalogKey, Priority } from "./_schema_graph.ts";
import { query, type ReadContext, roleName } from "./_schema_sql.ts";

interface SubscriptionRow {
  oid: number;
  name: string;
  q: string;
  owner: string;
  sql: string;
}

/** Adds subscriptions (database-wide, so not with a table filter; superusers only). */
export async function readSubscriptions(ctx: ReadContext): Promise<void> {
  if (ctx.filtered) return;
  // Reading `subconninfo` without the right fails the transaction: ask first (a query that
  // depends on an earlier answer is never run ahead on a helper either).
  const [me] = await query<{ super: boolean }>(
    ctx.sql,
    `SELECT r.rolsuper AS super FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER`,
  );
  if (!me?.super) return;
  const rows = await query<SubscriptionRow>(
    ctx.sql,
    `SELECT s.oid, s.subname AS name, pg_catalog.quote_ident(s.subname) AS q,
       ${roleName("s.subowner")} AS owner,
       'CREATE SUBSCRIPTION ' || pg_catalog.quote_ident(s.subname) || E'\\n    CONNECTION ' ||
       pg_catalog.quote_literal(s.subconninfo) || E'\\n    PUBLICATION ' ||
       (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(p), ', ' ORDER BY n)
          FROM pg_catalog.unnest(s.subpublications) WITH ORDINALITY AS x(p, n)) ||
       E'\\n    WITH (connect = false, enabled = false, create_slot = false, slot_name = ' ||
       COALESCE(pg_catalog.quote_literal(s.subslotname), 'NONE') ||
       CASE WHEN s.subbinary THEN ', binary = true' ELSE '' END ||
       CASE WHEN s.substream THEN ', streaming = on' ELSE '' END ||
       CASE WHEN s.subtwophasestate <> 'd' THEN ', two_phase = on' ELSE '' END ||
       CASE WHEN s.subdisableonerr THEN ', disable_on_error = true' ELSE '' END ||
       CASE WHEN s.subsynccommit <> 'off'
         THEN ', synchronous_commit = ' || pg_catalog.quote_ident(s.subsynccommit) ELSE '' END ||
       ');' AS sql
     FROM pg_catalog.pg_subscription s
     WHERE s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d
         WHERE d.datname = pg_catalog.current_database())
     ORDER BY s.subname`,
  );
  for (const s of rows) {
    ctx.graph.addObject({
      key: catalogKey("pg_subscription", s.oid),
      // pg_dump's place: after publications, with the other post-data objects.
      priority: Priority.PublicationMember + 0.5,
      item: {
        kind: "SUBSCRIPTION",
        name: s.name,
        owner: s.owner,
        sql: `${s.sql}\n`,
        drop: `DROP SUBSCRIPTION IF EXISTS ${s.q};\n`,
      },
    }, { kind: "SUBSCRIPTION", name: s.q, ownerKind: "SUBSCRIPTION" });
  }
}
