/**
 * Large objects, which live outside every table: created with their original oids (columns of
 * type `oid` refer to them), filled with `lo_put` in bounded pieces read with `lo_get`, so that no
 * whole object is ever held in memory, then their owner, grants and comment. Plain SQL that
 * stock psql runs, unlike pg_dump's `lowrite` on a descriptor number.
 */
import type postgres from "npm:postgres@3.4.9";
import type { ChunkBuffer } from "../chunk_buffer.ts";
import { ACL_MARKER, itemComment, OWNER_MARKER } from "./_script.ts";

/** Bytes of a large object read (and written as one `lo_put`) at a time. */
const PIECE_BYTES = 256 * 1024;

/** What {@linkcode dumpLargeObjects} wrote. */
export interface LargeObjectStats {
  count: number;
  bytes: number;
}

/** Writes every large object visible in the snapshot of `tx`. */
export async function dumpLargeObjects(
  tx: postgres.TransactionSql,
  out: ChunkBuffer,
): Promise<LargeObjectStats> {
  const objects = await tx<
    { oid: string; owner: string; quotedOwner: string; comment: string | null }[]
  >`
    SELECT m.oid::int8::text AS oid, pg_get_userbyid(m.lomowner) AS owner,
           quote_ident(pg_get_userbyid(m.lomowner)) AS "quotedOwner",
           obj_description(m.oid, 'pg_largeobject') AS comment
    FROM pg_largeobject_metadata m ORDER BY m.oid`;
  if (objects.length === 0) return { count: 0, bytes: 0 };
  const grants = new Map<string, string[]>();
  // One GRANT per grantee, in the order of the source's entries: after the REVOKE ALL from the
  // owner the ACL is empty and each grant appends its grantee's entry, so the restored lomacl
  // lists them as the source does (sorted by grantee, PUBLIC came first).
  for (
    const g of await tx<{ oid: string; grantee: string; privileges: string; grantable: boolean }[]>`
      SELECT m.oid::int8::text AS oid, a.is_grantable AS grantable,
             string_agg(a.privilege_type, ', ' ORDER BY a.n) AS privileges,
             CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee
      FROM pg_largeobject_metadata m,
           aclexplode(m.lomacl) WITH ORDINALITY AS a(grantor, grantee, privilege_type, is_grantable, n)
      WHERE m.lomacl IS NOT NULL
      GROUP BY m.oid, a.grantee, a.is_grantable
      ORDER BY m.oid, min(a.n)`
  ) {
    const list = grants.get(g.oid) ?? [];
    list.push(
      `${ACL_MARKER}GRANT ${g.privileges} ON LARGE OBJECT ${g.oid} TO ${g.grantee}${
        g.grantable ? " WITH GRANT OPTION" : ""
      };`,
    );
    grants.set(g.oid, list);
  }
  const start = out.total;
  for (const object of objects) {
    await out.writeText(
      itemComment({ name: object.oid, kind: "LARGE OBJECT", owner: object.owner }) +
        `SELECT pg_catalog.lo_create('${object.oid}');\n`,
    );
    for (let offset = 0;; offset += PIECE_BYTES) {
      const [piece] = await tx<{ hex: string }[]>`
        SELECT encode(lo_get(${object.oid}::oid, ${offset}::int8, ${PIECE_BYTES}), 'hex') AS hex`;
      if (piece.hex.length > 0) {
        await out.writeText(
          `SELECT pg_catalog.lo_put('${object.oid}', ${offset}, '\\x${piece.hex}');\n`,
        );
      }
      if (piece.hex.length < PIECE_BYTES * 2) break;
    }
    let tail = `${OWNER_MARKER}ALTER LARGE OBJECT ${object.oid} OWNER TO ${object.quotedOwner};\n`;
    const acl = grants.get(object.oid);
    if (acl) {
      tail += `${ACL_MARKER}REVOKE ALL ON LARGE OBJECT ${object.oid} FROM ${object.quotedOwner};\n${
        acl.join("\n")
      }\n`;
    }
    if (object.comment !== null) {
      tail += `COMMENT ON LARGE OBJECT ${object.oid} IS ${quoteLiteral(object.comment)};\n`;
    }
    await out.writeText(tail + "\n");
  }
  return { count: objects.length, bytes: out.total - start };
}

/** The oids of the large objects in the snapshot, for the `--clean` directives. */
export async function largeObjectIds(tx: postgres.TransactionSql): Promise<string[]> {
  const rows = await tx<{ oid: string }[]>`
    SELECT oid::int8::text AS oid FROM pg_largeobject_metadata ORDER BY oid`;
  return rows.map((r) => r.oid);
}

/** pg_dump's `--clean --if-exists` statement for a large object. */
export function unlinkLargeObject(oid: string): string {
  return `SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata WHERE oid = '${oid}';`;
}

/** A string literal under `standard_conforming_strings = on`. */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
