/**
 * The objects read from the catalogs, before they are ordered: each readers adds nodes (one
 * object's statements, a kind priority, its section) and tells which catalog rows stand for which
 * node, so `pg_depend` edges, comments, owners and grants can be attached without each reader
 * knowing of the others.
 */
import type { SchemaItem, TableData } from "./_model.ts";

/** Kind ranks, as pg_dump orders objects when no dependency says otherwise. */
export const Priority = {
  Schema: 1,
  Extension: 2,
  Type: 3,
  Function: 4,
  Aggregate: 5,
  Sequence: 6,
  Table: 7,
  TableAttach: 8,
  View: 9,
  ColumnSetting: 10,
  SequenceOwnedBy: 11,
  // post-data
  SequenceSet: 20,
  Constraint: 21,
  Index: 22,
  IndexAttach: 23,
  Statistics: 24,
  Rule: 25,
  Trigger: 26,
  ForeignKey: 27,
  Policy: 28,
  RowSecurity: 29,
  EventTrigger: 30,
  MatviewRefresh: 31,
} as const;

/** Priorities from here on belong after the data. */
export const POST_DATA = 20;

/** A catalog row's key: `pg_class:16384`. */
export function catalogKey(catalog: string, oid: number): string {
  return `${catalog}:${oid}`;
}

/** One object's statements, waiting to be ordered. */
export interface SchemaNode {
  key: string;
  priority: number;
  item: SchemaItem;
  /** Keys (node keys or catalog keys aliased to nodes) this node must follow. */
  deps: Set<string>;
  /** Statements that go right after the object (owner, comments, column settings). */
  after: SchemaItem[];
  /** The table's rows to copy, for tables that have them. */
  table?: TableData;
}

/** How statements name an object that comments, owners and grants refer to. */
export interface ObjectRef {
  /** The node the object's statements live in. */
  node: string;
  /** `COMMENT ON <kind>` keyword(s): `TABLE`, `FUNCTION`, `CONSTRAINT`, ... */
  kind: string;
  /** The SQL name after the keyword: `s.t`, `s.f(integer)`, `c ON s.t`. */
  name: string;
  /** `ALTER <ownerKind> <name> OWNER TO` keyword, for objects that have an owner. */
  ownerKind?: string;
  /** `GRANT ... ON <aclKind> <name>` keyword, for objects that carry an ACL. */
  aclKind?: string;
  /** Quoted owning role. */
  owner?: string;
  /** For `GRANT ... ON s.t (column)`: the columns' quoted names by number. */
  columns?: Map<number, string>;
}

/** Nodes plus the catalog-row-to-node map every reader fills. */
export class SchemaGraph {
  readonly nodes: SchemaNode[] = [];
  readonly refs = new Map<string, ObjectRef>();
  #byKey = new Map<string, SchemaNode>();
  #alias = new Map<string, string>();

  /** Adds a node; its key is usually the object's catalog key. */
  add(node: Omit<SchemaNode, "deps" | "after"> & { deps?: Iterable<string> }): SchemaNode {
    const full: SchemaNode = { ...node, deps: new Set(node.deps ?? []), after: [] };
    this.nodes.push(full);
    this.#byKey.set(full.key, full);
    return full;
  }

  /** Adds an object's node and names it for comments, owner (`item.owner`) and grants. */
  addObject(
    node: Parameters<SchemaGraph["add"]>[0],
    ref: Omit<ObjectRef, "node" | "owner">,
  ): SchemaNode {
    const added = this.add(node);
    this.ref(node.key, { ...ref, node: node.key, owner: node.item.owner });
    return added;
  }

  /** Records that catalog row `from` is part of the object `to` (a node or another alias). */
  alias(from: string, to: string): void {
    if (from !== to) this.#alias.set(from, to);
  }

  /** Records how to name an object for comments/owner/grants (and aliases it to its node). */
  ref(key: string, ref: ObjectRef): void {
    this.refs.set(key, ref);
    this.alias(key, ref.node);
  }

  /** The node a catalog key (or node key) stands for, if it is one we dump. */
  node(key: string): SchemaNode | undefined {
    for (let i = 0; i < 16; i++) {
      const node = this.#byKey.get(key);
      if (node) return node;
      const next = this.#alias.get(key);
      if (next === undefined) return undefined;
      key = next;
    }
    return undefined;
  }
}
