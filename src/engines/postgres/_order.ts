/**
 * Dependency order for schema objects: a topological sort that, among the objects whose
 * dependencies are all placed, always takes the one with the lowest priority (then the earliest
 * read). Without edges the result is the fixed kind order pg_dump uses; with edges (a view on a
 * view, a default calling a function, a column of another table's rowtype) dependencies win.
 */

/** One object to place. */
export interface OrderNode {
  key: string;
  /** Kind rank: lower goes first when dependencies allow. */
  priority: number;
  /** Keys this node must follow; unknown keys are ignored. */
  deps: Iterable<string>;
}

/**
 * Returns the nodes in an order where each follows its dependencies. A cycle cannot be honoured;
 * it is broken at its lowest-priority node, so the result is always complete.
 */
export function orderByDependencies<T extends OrderNode>(nodes: readonly T[]): T[] {
  const index = new Map<string, number>();
  nodes.forEach((n, i) => index.set(n.key, i));
  const waiting = new Array<number>(nodes.length).fill(0);
  const dependents: number[][] = nodes.map(() => []);
  nodes.forEach((node, i) => {
    for (const dep of new Set(node.deps)) {
      const j = index.get(dep);
      if (j === undefined || j === i) continue;
      waiting[i]++;
      dependents[j].push(i);
    }
  });
  const before = (a: number, b: number) => nodes[a].priority - nodes[b].priority || a - b;
  const ready = new Heap(before);
  const blocked = new Heap(before);
  nodes.forEach((_, i) => waiting[i] === 0 ? ready.push(i) : blocked.push(i));
  const placed = new Array<boolean>(nodes.length).fill(false);
  const out: T[] = [];
  while (out.length < nodes.length) {
    let next = ready.pop();
    if (next === undefined) {
      // A cycle: take the best node still blocked.
      do next = blocked.pop(); while (next !== undefined && placed[next]);
      if (next === undefined) break;
    }
    if (placed[next]) continue;
    placed[next] = true;
    out.push(nodes[next]);
    for (const d of dependents[next]) {
      if (--waiting[d] === 0 && !placed[d]) ready.push(d);
    }
  }
  return out;
}

/** A binary min-heap of indexes. */
class Heap {
  #items: number[] = [];
  #before: (a: number, b: number) => number;

  constructor(before: (a: number, b: number) => number) {
    this.#before = before;
  }

  push(value: number): void {
    const a = this.#items;
    a.push(value);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#before(a[i], a[parent]) >= 0) break;
      [a[i], a[parent]] = [a[parent], a[i]];
      i = parent;
    }
  }

  pop(): number | undefined {
    const a = this.#items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && this.#before(a[l], a[m]) < 0) m = l;
        if (r < a.length && this.#before(a[r], a[m]) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}
