/**
 * Catalog queries run ahead on helper connections. The catalog readers (`_schema_*.ts`) run one
 * query after another, and most of the time of a schema-heavy dump is the server rendering
 * definitions (`pg_get_viewdef`, `pg_get_indexdef`, ...) one query at a time. Their queries are
 * fixed text, known before any row is read: a first pass of the readers over a
 * {@linkcode QueryRecorder} (every query answered with no rows) lists them, the helpers (the
 * dump's lanes, in transactions on the same snapshot) start them all at once, spread over their
 * connections, and the real pass takes each result when it asks for that text. Nothing is
 * reordered: the readers still see their results in their own order, so the plan is the same;
 * a query the first pass did not foresee (one built from earlier rows) runs on the main
 * connection as before.
 */
import type { CatalogQueries } from "./_schema_sql.ts";

/** Answers every query with no rows and remembers its text. */
export class QueryRecorder implements CatalogQueries {
  readonly texts: string[] = [];

  unsafe(text: string): Promise<unknown> {
    this.texts.push(text);
    return Promise.resolve([]);
  }
}

/** Queries answered from results started ahead on helpers, else by `main`. */
export class CatalogPrefetch implements CatalogQueries {
  readonly #main: CatalogQueries;
  readonly #ahead = new Map<string, Promise<unknown>[]>();

  /** Starts `texts` now, spread over `helpers` in turn (each helper runs its share in order). */
  constructor(main: CatalogQueries, helpers: CatalogQueries[], texts: string[]) {
    this.#main = main;
    texts.forEach((text, i) => {
      const result = Promise.resolve(helpers[i % helpers.length].unsafe(text));
      result.catch(() => {}); // a result nobody asks for must not be an unhandled rejection
      const list = this.#ahead.get(text);
      if (list) list.push(result);
      else this.#ahead.set(text, [result]);
    });
  }

  unsafe(text: string): Promise<unknown> {
    const result = this.#ahead.get(text)?.shift();
    return result ?? Promise.resolve(this.#main.unsafe(text));
  }
}
