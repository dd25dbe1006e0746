import { describe, expect, it } from 'vitest';
import { MinHeap } from '../../src/util/min-heap.ts';
import { seededRandom } from '../support/prng.ts';

describe('MinHeap', () => {
  it('pops values in ascending key order', () => {
    // Prepare
    const heap = new MinHeap<string>();
    for (const key of [5, 1, 4, 2, 3]) heap.push(key, `v${key}`);

    // Act
    const popped = [heap.pop(), heap.pop(), heap.pop(), heap.pop(), heap.pop()];

    // Assess
    expect(popped).toEqual(['v1', 'v2', 'v3', 'v4', 'v5']);
    expect(heap.size).toBe(0);
  });

  it('keeps the smallest key on top through random pushes and pops', () => {
    // Prepare
    const random = seededRandom(31);
    const heap = new MinHeap<number>();
    const reference: number[] = [];
    const popped: (number | undefined)[] = [];
    const expected: number[] = [];

    // Act
    for (let i = 0; i < 2_000; i++) {
      if (random() < 0.6) {
        const key = Math.floor(random() * 100);
        heap.push(key, key);
        reference.push(key);
      } else if (reference.length > 0) {
        reference.sort((a, b) => a - b);
        expected.push(reference.shift() as number);
        popped.push(heap.pop());
      }
    }

    // Assess
    expect(popped.length).toBeGreaterThan(500);
    expect(popped).toEqual(expected);
    expect(heap.size).toBe(reference.length);
    expect(heap.peekKey()).toBe(Math.min(...reference));
  });

  it('peeks at the smallest key without removing it', () => {
    // Prepare
    const heap = new MinHeap<string>();
    heap.push(20, 'late');
    heap.push(-3, 'early');

    // Act
    const key = heap.peekKey();

    // Assess
    expect(key).toBe(-3);
    expect(heap.size).toBe(2);
  });

  it('gives undefined for peek and pop when empty', () => {
    // Prepare
    const heap = new MinHeap<string>();

    // Act
    const popped = heap.pop();

    // Assess
    expect(popped).toBeUndefined();
    expect(heap.peekKey()).toBeUndefined();
  });
});
