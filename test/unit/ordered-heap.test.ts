import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OrderedHeap } from '../../src/util/ordered-heap.ts';

type Op = { kind: 'push'; value: number } | { kind: 'pop' } | { kind: 'replace'; value: number };

const byNumber = (a: number, b: number): number => a - b;

describe('OrderedHeap', () => {
  it('pops values in the order of its comparison', () => {
    // Prepare
    const heap = new OrderedHeap<string>((a, b) => b.localeCompare(a));
    for (const value of ['b', 'd', 'a', 'c']) heap.push(value);

    // Act
    const popped = [heap.pop(), heap.pop(), heap.pop(), heap.pop()];

    // Assess
    expect(popped).toEqual(['d', 'c', 'b', 'a']);
    expect(heap.size).toBe(0);
  });

  it('gives undefined for peek and pop when empty, and replaceTop then pushes', () => {
    // Prepare
    const heap = new OrderedHeap<number>(byNumber);

    // Act
    const peeked = heap.peek();
    const popped = heap.pop();
    heap.replaceTop(4);

    // Assess
    expect(peeked).toBeUndefined();
    expect(popped).toBeUndefined();
    expect(heap.peek()).toBe(4);
    expect(heap.size).toBe(1);
  });

  it('keeps the least value on top through any pushes, pops and replacements', () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.integer({ min: 0, max: 20 }).map((value) => ({ kind: 'push' as const, value })),
      fc.constant({ kind: 'pop' as const }),
      fc.integer({ min: 0, max: 20 }).map((value) => ({ kind: 'replace' as const, value })),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        // Prepare
        const heap = new OrderedHeap<number>(byNumber);
        const reference: number[] = [];
        const popped: (number | undefined)[] = [];
        const expected: (number | undefined)[] = [];

        // Act
        for (const next of ops) {
          reference.sort(byNumber);
          if (next.kind === 'push') {
            heap.push(next.value);
            reference.push(next.value);
          } else if (next.kind === 'pop') {
            popped.push(heap.pop());
            expected.push(reference.shift());
          } else {
            heap.replaceTop(next.value);
            reference[0] = next.value;
          }
        }

        // Assess
        expect(popped).toEqual(expected);
        expect(heap.size).toBe(reference.length);
        expect(heap.peek()).toBe(reference.length === 0 ? undefined : Math.min(...reference));
      }),
      { numRuns: 500 },
    );
  });
});
