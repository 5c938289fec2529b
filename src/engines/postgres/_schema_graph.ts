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
  Language: 2,
  Collation: 3,
  Extension: 4,
  Type: 5,
  Cast: 6,
  Function: 7,
  Aggregate: 8,
  Operator: 9,
  OperatorFamily: 10,
  OperatorClass: 11,
  OperatorFamilyMembers: 12,
  Conversion: 13,
  TextSearchParser: 14,
  TextSearchTemplate: 15,
  TextSearchDictionary: 16,
  TextSearchConfiguration: 17,
  ForeignDataWrapper: 18,
  ForeignServer: 19,
  UserMapping: 20,
  Sequence: 21,
  Table: 22,
  TableAttach: 23,
  View: 24,
  ColumnSetting: 25,
  ColumnDefault: 26,
  /** A CHECK moved out of its `CREATE TABLE`/`DOMAIN` to break a cycle (`_schema_cycles.ts`). */
  TableCheck: 26,
  SequenceOwnedBy: 27,
  // post-data
  SequenceSet: 50,
  Constraint: 51,
  Index: 52,
  IndexAttach: 53,
  Statistics: 54,
  Rule: 55,
  Trigger: 56,
  ForeignKey: 57,
  Policy: 58,
  RowSecurity: 59,
  Publication: 60,
  PublicationMember: 61,
  EventTrigger: 62,
  MatviewRefresh: 63,
} as const;

/** Priorities from here on belong after the data. */
export const POST_DATA = 50;

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

/**
 * A column default written inside its `CREATE TABLE` that can move out into an
 * `ALTER TABLE ... SET DEFAULT` when it closes a dependency cycle (see `_schema_defaults.ts`).
 */
export interface ColumnDefault {
  /** The table's node key. */
  table: string;
  /** The column clause as written in the table's statement, and the same without the default. */
  clause: string;
  bare: string;
  /** The statement that sets the default afterwards. */
  alter: string;
  /** Node keys the default's expression depends on (filled with the `pg_depend` edges). */
  deps: Set<string>;
}

/**
 * A CHECK constraint written inside its `CREATE TABLE` (or `CREATE DOMAIN`) that can move out into
 * an `ALTER TABLE` (`ALTER DOMAIN`) `... ADD CONSTRAINT` when it closes a dependency cycle: a check
 * calling a function that takes the table's own rowtype, or the domain (see `_schema_cycles.ts`).
 */
export interface TableCheck {
  /** The node key of the table (or domain) whose statement holds it. */
  table: string;
  /** The constraint clause as written in that statement (`CONSTRAINT c CHECK (...)`). */
  clause: string;
  /** The statement that adds it afterwards. */
  alter: string;
  /** Its display name (`t c`) and how comments name it. */
  label: string;
  ref: Omit<ObjectRef, "node">;
  /** Node keys the check's expression depends on (filled with the `pg_depend` edges). */
  deps: Set<string>;
}

/**
 * An object that can be created early as a stand-in with the same signature (a view as
 * `SELECT NULL::type AS column, ...`, a `BEGIN ATOMIC` function with an unchecked body) and
 * replaced by its real definition once what that definition needs exists: how a cycle through
 * a view's query or a function's body is broken, as pg_dump does with its dummy views.
 */
export interface Placeholder {
  /** The stand-in's statement, which needs only the object's column or argument types. */
  sql: string;
  /** The statement that replaces it (`CREATE OR REPLACE ...`), with what goes with it. */
  replace: string;
}

/** What {@linkcode SchemaGraph.addNamed} needs to know of an object. */
export interface NamedObject {
  /** The object's catalog (`pg_collation`), keyed with `row.oid`. */
  catalog: string;
  /** `COLLATION`, `TEXT SEARCH DICTIONARY`, ...: the item's kind and the statements' keyword. */
  keyword: string;
  priority: number;
  row: { oid: number; schema?: string; name: string; q: string; owner?: string };
  /** The object's statements. */
  sql: string;
  /** The name after the keyword (`s.op (integer, integer)`); default `row.q`. */
  name?: string;
  /** The item's display name; default `row.name`. */
  label?: string;
  /** Whether it has an owner to restore (when `row.owner` is set); default true. */
  owned?: boolean;
  /** `GRANT ... ON <acl>` keyword, for objects with an ACL. */
  acl?: string;
  /** The `--clean` statement; default `DROP <keyword> IF EXISTS <name> CASCADE;`. */
  drop?: string;
  deps?: Iterable<string>;
}

/** Nodes plus the catalog-row-to-node map every reader fills. */
export class SchemaGraph {
  readonly nodes: SchemaNode[] = [];
  readonly refs = new Map<string, ObjectRef>();
  /** Splittable column defaults by their `pg_attrdef` catalog key. */
  readonly defaults = new Map<string, ColumnDefault>();
  /** Splittable CHECK constraints by their `pg_constraint` catalog key. */
  readonly checks = new Map<string, TableCheck>();
  /** Stand-ins of views and functions by node key, used only where a cycle needs one. */
  readonly placeholders = new Map<string, Placeholder>();
  #redirects = new Map<string, string>();
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

  /**
   * Adds a named object whose one keyword serves `CREATE`, `DROP`, `COMMENT ON` and
   * `ALTER ... OWNER TO` (collations, operators, text search objects, servers, ...).
   */
  addNamed(o: NamedObject): SchemaNode {
    const name = o.name ?? o.row.q;
    const owned = (o.owned ?? true) && o.row.owner !== undefined;
    return this.addObject({
      key: catalogKey(o.catalog, o.row.oid),
      priority: o.priority,
      item: {
        kind: o.keyword,
        name: o.label ?? o.row.name,
        schema: o.row.schema,
        owner: owned ? o.row.owner : undefined,
        sql: o.sql,
        drop: o.drop ?? `DROP ${o.keyword} IF EXISTS ${name} CASCADE;\n`,
      },
      deps: o.deps,
    }, { kind: o.keyword, name, ownerKind: owned ? o.keyword : undefined, aclKind: o.acl });
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

  /**
   * Makes node `from` follow `instead` where the catalogs say it depends on `to`: a range type's
   * canonical function takes the type's shell, not the full type that needs the function.
   */
  redirect(from: string, to: string, instead: string): void {
    this.#redirects.set(`${from} ${to}`, instead);
  }

  /** The key node `from` must follow for a dependency on node `to`. */
  dependency(from: string, to: string): string {
    return this.#redirects.get(`${from} ${to}`) ?? to;
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
