/**
 * How an inheritance child (not a partition) is created so that its columns come back in its own
 * order, each local or inherited as it was. `CREATE TABLE ... INHERITS` puts the parents' columns
 * first, then the child's own: a child whose columns were there before `ALTER TABLE ... INHERIT`,
 * or whose parent gained a column after a child column, comes out in another order (pg_dump has
 * the same fault outside binary upgrades). Such a child is created on its own and then inherits;
 * columns and CHECK constraints that it only inherits are given to it through a scratch parent
 * that it leaves again, because only inheritance makes a column or constraint non-local:
 *
 * ```sql
 * CREATE TABLE s.bm_inherit_1 (a integer);              -- the leading inherited-only columns
 * CREATE TABLE s.child (q integer) INHERITS (s.bm_inherit_1);  -- then the child's own
 * ALTER TABLE s.bm_inherit_1 ADD COLUMN late integer;   -- further columns, one by one
 * ALTER TABLE ONLY s.child INHERIT s.parent;            -- merges: the columns stay inherited
 * ALTER TABLE ONLY s.child NO INHERIT s.bm_inherit_1;
 * DROP TABLE s.bm_inherit_1;
 * ```
 */

/** A child's column, as far as the plan cares. */
export interface InheritColumn {
  name: string;
  /** `attislocal`: the child defines it itself (it may inherit it too). */
  local: boolean;
  /** A generated column (its expression refers to other columns). */
  generated: boolean;
  /** The columns a generated column's expression uses. */
  refs?: string[];
}

/**
 * `inherits`: `CREATE TABLE ... INHERITS (...)`, which gives this order. `inherit`: every column
 * in `CREATE TABLE`, then `ALTER TABLE ... INHERIT` each parent. `scratch`: the first `leading`
 * columns (inherited only) in the scratch parent's `CREATE TABLE`, the next `local` ones in the
 * child's, which inherits from it; the others added one by one (inherited-only ones to the scratch
 * parent), then the parents inherited and the scratch parent left.
 */
export type InheritancePlan =
  | { mode: "inherits" }
  | { mode: "inherit" }
  | { mode: "scratch"; leading: number; local: number };

/** The column names `CREATE TABLE child (local) INHERITS (parents)` gives, in order. */
export function inheritsOrder(parents: string[][], columns: InheritColumn[]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  for (const name of parents.flat()) {
    if (!seen.has(name)) order.push(name);
    seen.add(name);
  }
  for (const c of columns) if (c.local && !seen.has(c.name)) order.push(c.name);
  return order;
}

/**
 * The plan that reproduces `columns` (the child's, in order) under `parents` (each parent's
 * column names, in order). `inheritedChecks`: the child has CHECK constraints it only inherits.
 * Where a generated column would be added before a column its expression uses, the child keeps
 * `inherits` (the right columns, in another order).
 */
export function planInheritance(
  columns: InheritColumn[],
  parents: string[][],
  inheritedChecks: boolean,
): InheritancePlan {
  const order = inheritsOrder(parents, columns);
  if (order.length === columns.length && order.every((name, i) => columns[i].name === name)) {
    return { mode: "inherits" };
  }
  if (columns.every((c) => c.local) && !inheritedChecks) return { mode: "inherit" };
  const firstLocal = columns.findIndex((c) => c.local);
  const leading = firstLocal === -1 ? columns.length : firstLocal;
  const nextInherited = columns.findIndex((c, i) => i >= leading && !c.local);
  const local = (nextInherited === -1 ? columns.length : nextInherited) - leading;
  // The columns there when each is defined: the scratch parent's first ones are alone in its
  // CREATE TABLE; a later one may use any column of the child (merged into the scratch parent).
  const scratch = new Set(columns.slice(0, leading).map((c) => c.name));
  const child = new Set(columns.slice(0, leading + local).map((c) => c.name));
  for (const [i, c] of columns.entries()) {
    const there = i < leading ? scratch : child;
    if (c.generated && !(c.refs ?? []).every((r) => there.has(r))) return { mode: "inherits" };
    child.add(c.name);
  }
  return { mode: "scratch", leading, local };
}

/** The scratch parent's name for the table with `oid`, in the child's quoted `schema`. */
export function scratchParent(schema: string, oid: number): string {
  return `${schema}.bm_inherit_${oid}`;
}
