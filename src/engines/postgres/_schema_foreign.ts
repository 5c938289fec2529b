/**
 * Reads foreign data wrappers (those not from an extension), foreign servers and user mappings;
 * foreign tables are read with the other tables. User mappings keep their options, passwords
 * included, exactly as pg_dump writes them: a backup must restore the connections it had. The
 * dump file is therefore as secret as the database; its item names carry no option values.
 */
import { catalogKey, Priority } from "./_schema_graph.ts";
import { notInExtension, OPTIONS, query, type ReadContext, roleName } from "./_schema_sql.ts";

/** Adds wrappers, servers and user mappings (database-wide, so not with a table filter). */
export async function readForeignServers(ctx: ReadContext): Promise<void> {
  if (ctx.filtered) return;
  const wrappers = await query<
    { oid: number; name: string; q: string; owner: string; def: string }
  >(
    ctx.sql,
    `SELECT w.oid, w.fdwname AS name, pg_catalog.quote_ident(w.fdwname) AS q,
       ${roleName("w.fdwowner")} AS owner,
       CASE WHEN w.fdwhandler <> 0 THEN ' HANDLER ' || w.fdwhandler::pg_catalog.regproc::text
         ELSE '' END ||
       CASE WHEN w.fdwvalidator <> 0 THEN ' VALIDATOR ' ||
         w.fdwvalidator::pg_catalog.regproc::text ELSE '' END ||
       COALESCE(' OPTIONS (' || (SELECT ${OPTIONS}
         FROM pg_catalog.pg_options_to_table(w.fdwoptions)) || ')', '') AS def
     FROM pg_catalog.pg_foreign_data_wrapper w
     WHERE w.oid >= 16384 AND ${notInExtension("pg_foreign_data_wrapper", "w.oid")}
     ORDER BY w.fdwname`,
  );
  for (const w of wrappers) {
    ctx.graph.addNamed({
      catalog: "pg_foreign_data_wrapper",
      keyword: "FOREIGN DATA WRAPPER",
      priority: Priority.ForeignDataWrapper,
      row: w,
      sql: `CREATE FOREIGN DATA WRAPPER ${w.q}${w.def};\n`,
      acl: "FOREIGN DATA WRAPPER",
    });
  }

  const servers = await query<{ oid: number; name: string; q: string; owner: string; def: string }>(
    ctx.sql,
    `SELECT s.oid, s.srvname AS name, pg_catalog.quote_ident(s.srvname) AS q,
       ${roleName("s.srvowner")} AS owner,
       COALESCE(' TYPE ' || pg_catalog.quote_literal(s.srvtype), '') ||
       COALESCE(' VERSION ' || pg_catalog.quote_literal(s.srvversion), '') ||
       ' FOREIGN DATA WRAPPER ' || pg_catalog.quote_ident(w.fdwname) ||
       COALESCE(' OPTIONS (' || (SELECT ${OPTIONS}
         FROM pg_catalog.pg_options_to_table(s.srvoptions)) || ')', '') AS def
     FROM pg_catalog.pg_foreign_server s
     JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
     WHERE ${notInExtension("pg_foreign_server", "s.oid")}
     ORDER BY s.srvname`,
  );
  for (const s of servers) {
    ctx.graph.addNamed({
      catalog: "pg_foreign_server",
      keyword: "SERVER",
      priority: Priority.ForeignServer,
      row: s,
      sql: `CREATE SERVER ${s.q}${s.def};\n`,
      acl: "FOREIGN SERVER",
    });
  }

  // pg_user_mappings shows the options to whom pg_dump shows them (superuser, the user, owner).
  const mappings = await query<
    { oid: number; server: number; target: string; srv: string; options: string | null }
  >(
    ctx.sql,
    `SELECT m.umid AS oid, m.srvid AS server, pg_catalog.quote_ident(m.srvname) AS srv,
       CASE WHEN m.umuser = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(m.usename) END AS target,
       (SELECT ${OPTIONS} FROM pg_catalog.pg_options_to_table(m.umoptions)) AS options
     FROM pg_catalog.pg_user_mappings m
     ORDER BY m.srvname, m.usename`,
  );
  for (const m of mappings) {
    const name = `FOR ${m.target} SERVER ${m.srv}`;
    ctx.graph.add({
      key: catalogKey("pg_user_mapping", m.oid),
      priority: Priority.UserMapping,
      item: {
        kind: "USER MAPPING",
        name: `USER MAPPING ${name}`,
        sql: `CREATE USER MAPPING ${name}` + (m.options ? ` OPTIONS (${m.options})` : "") + ";\n",
        drop: `DROP USER MAPPING IF EXISTS ${name};\n`,
      },
      deps: [catalogKey("pg_foreign_server", m.server)],
    });
  }
}
