/** A binary min-heap ordered by a numeric key. */
export class MinHeap<T> {
  readonly #items: { key: number; value: T }[] = [];

  get size(): number {
    return this.#items.length;
  }

  peekKey(): number | undefined {
    return this.#items[0]?.key;
  }

  push(key: number, value: T): void {
    const items = this.#items;
    items.push({ key, value });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as { key: number }).key <= key) break;
      [items[i], items[parent]] = [
        items[parent] as (typeof items)[number],
        items[i] as (typeof items)[number],
      ];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined) return undefined;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && (items[left]?.key ?? 0) < (items[smallest]?.key ?? 0)) smallest = left;
        if (right < items.length && (items[right]?.key ?? 0) < (items[smallest]?.key ?? 0)) smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [
          items[smallest] as (typeof items)[number],
          items[i] as (typeof items)[number],
        ];
        i = smallest;
      }
    }
    return top.value;
  }
}
