/**
 * A binary min-heap ordered by a comparison, for orders a numeric key cannot express (strings, ties
 * broken by a second field); `MinHeap` is the one for numeric keys.
 */
export class OrderedHeap<T> {
  readonly #items: T[] = [];
  readonly #compare: (a: T, b: T) => number;

  /** `compare(a, b)` is negative when `a` goes before `b`. */
  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare;
  }

  get size(): number {
    return this.#items.length;
  }

  /** The least value, left in place. */
  peek(): T | undefined {
    return this.#items[0];
  }

  push(value: T): void {
    const items = this.#items;
    let i = items.length;
    items.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = items[parent] as T;
      if (this.#compare(above, value) <= 0) break;
      items[i] = above;
      i = parent;
    }
    items[i] = value;
  }

  /** Removes the least value and returns it. */
  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop() as T;
    if (items.length > 0) this.#siftDown(last);
    return top;
  }

  /** Puts `value` where the least value was and restores the order: a pop and a push for one sift. */
  replaceTop(value: T): void {
    if (this.#items.length === 0) this.#items.push(value);
    else this.#siftDown(value);
  }

  /** Places `value` at the top, then moves it down past every child less than it. */
  #siftDown(value: T): void {
    const items = this.#items;
    const count = items.length;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= count) break;
      const right = child + 1;
      if (right < count && this.#compare(items[right] as T, items[child] as T) < 0) child = right;
      const below = items[child] as T;
      if (this.#compare(value, below) <= 0) break;
      items[i] = below;
      i = child;
    }
    items[i] = value;
  }
}
