// A small seeded generator: the same --seed gives the same messages, the same fault kinds in
// the same order and the same pauses, so a red run can be repeated. (The moments faults land
// relative to SMTP transactions still depend on the machine's timing.)

export class Prng {
  private state: number;

  constructor(seed: number) {
    // Spread the seed's bits (xorshift has a fixed point at 0, and small seeds start poorly).
    let s = Math.imul((seed | 0) ^ 0x5bd1e995, 0x27d4eb2d) >>> 0;
    s ^= s >>> 15;
    this.state = s === 0 ? 0x9e3779b9 : s;
    for (let i = 0; i < 8; i++) this.next();
  }

  /** Uniform in [0, 1). Marsaglia's xorshift32. */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 0x1_0000_0000;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** An item chosen with probability proportional to its weight. */
  weighted<T>(items: readonly { weight: number; value: T }[]): T {
    const total = items.reduce((n, i) => n + i.weight, 0);
    let r = this.next() * total;
    for (const i of items) {
      r -= i.weight;
      if (r < 0) return i.value;
    }
    return items[items.length - 1]!.value;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}
