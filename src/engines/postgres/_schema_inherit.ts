/**
 * How an inheritance child (not a partition) is created so that its columns come back in its own
 * order, each local or inherited as it was. `CREATE TABLE ... INHERITS` puts the parents' columns
 * first, then the child's own: a child whose columns were there before `ALTER TABLE ... INHERIT`,
 * or whose parent gained a column after a child column, comes out in another order (pg_dump has
 * the same fault outside binary upgrades). Such a child is created on its own and then inherits;
 * columns and CHECK constraints that it only inherits are given to it through a scratch parent
 * that it leaves again, because only inheritance makes a column or constraint non-local.
 */

/** A child's column, as far as the plan cares. */
export interface InheritColumn {
  name: string;
  /** `attislocal`: the child defines it itself (it may inherit it too). */
  local: boolean;
  /** A generated column (its expression refers to other columns). */
  generated: boolean;
}

/**
 * `inherits`: `CREATE TABLE ... INHERITS (...)`, which gives this order. `inherit`: every column
 * in `CREATE TABLE`, then `ALTER TABLE ... INHERIT` each parent. `scratch`: the first `leading`
 * columns in `CREATE TABLE`, the others added one by one (inherited-only ones through a scratch
 * parent), then the parents inherited and the scratch parent left.
 */
export type InheritancePlan =
  | { mode: "inherits" }
  | { mode: "inherit" }
  | { mode: "scratch"; leading: number };

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
 * A child whose inherited-only columns come before a generated column keeps `inherits`: a
 * generated column added later could refer to a column not there yet.
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
  const firstInherited = columns.findIndex((c) => !c.local);
  if (firstInherited === -1) {
    return inheritedChecks ? { mode: "scratch", leading: columns.length } : { mode: "inherit" };
  }
  if (columns.slice(firstInherited).some((c) => c.generated)) return { mode: "inherits" };
  return { mode: "scratch", leading: firstInherited };
}

/** The scratch parent's name for the table with `oid`, in the child's quoted `schema`. */
export function scratchParent(schema: string, oid: number): string {
  return `${schema}.bm_inherit_${oid}`;
}
