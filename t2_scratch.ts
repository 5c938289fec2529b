import { startCluster } from "./tests/helpers/pg_cluster.ts";
import { openConnection, parseLocation } from "./src/engines/postgres/_connection.ts";
import { ErrorSniffer } from "./src/engines/postgres/_error_sniffer.ts";
const c = await startCluster();
try {
  const sniffer = new ErrorSniffer();
  const orig = sniffer.feed.bind(sniffer);
  sniffer.feed = (d) => { console.log("data", d.length, String.fromCharCode(d[0]), new TextDecoder().decode(d).replace(/[^ -~]/g, ".").slice(0, 200)); orig(d); };
  const conn = openConnection(parseLocation(c.url), { sniffer });
  await conn.sql`create table t(id int, v text)`;
  try {
    await conn.sql.begin(async (tx) => {
      const w = await tx.unsafe("COPY t (id, v) FROM stdin").writable();
      w.on("error", (e) => console.log("werror", e.message));
      w.write(new TextEncoder().encode("1\ta\nxx\tb\n"));
      w.end();
      await new Promise((r) => setTimeout(r, 300));
      console.log("first", sniffer.first);
      await tx`select 1`;
    });
  } catch (e) { console.log("err", (e as Error).message); }
  await conn.end();
} finally { await c.stop(); }
