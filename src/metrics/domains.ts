// Which recipient domains get a metric label of their own (README "Metrics", domain labels):
// the top domains by volume this process has seen, the rest `other`. Pure and deterministic:
// no clock, no I/O; one instance per process (src/metrics/registry.ts).
//
// The rule, in order:
// - each call counts one send to a domain; counts are kept for at most `trackedLimit` domains
//   (when the table is full, a new domain takes the place of the least-counted unlabelled one
//   and inherits its count plus one: the Space-Saving scheme, so memory stays bounded however
//   many domains are seen and a frequent domain is never missed);
// - a domain gets its own label once it has at least `minVolume` sends for certain (not
//   counting what it inherited), while fewer than `top`
//   domains are labelled: the first `top` domains to reach `minVolume`, which in any mix of
//   traffic are its most frequent ones (a domain with rare sends reaches it late or never);
// - a labelled domain keeps its label for the life of the process: a Prometheus series that
//   changed name half-way would break its rate(), and at most `top` + 1 values ever exist.
// Sends counted before a domain was labelled stay under `other`; a restart decides afresh.
import { OTHER } from './contract';

export interface DomainLabelOptions {
  /** Most domains labelled by name (N). */
  top: number;
  /** Sends a domain needs before it may be labelled, so a burst of rare domains at start-up does not take the places. */
  minVolume: number;
  /** Most domains whose counts are kept. */
  trackedLimit: number;
}

export const DEFAULT_DOMAIN_LABEL_OPTIONS: DomainLabelOptions = { top: 20, minVolume: 10, trackedLimit: 400 };

/** A lower-case DNS name (IDNs in their xn-- form) or address literal; anything else is `other`. */
const PLAUSIBLE_DOMAIN = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$|^\[[0-9a-f:.]{2,45}\]$/;

export class DomainLabels {
  /** Space-Saving counters: `n` may overcount by `inherited`, never undercount. */
  private readonly counts = new Map<string, { n: number; inherited: number }>();
  private readonly labelled = new Set<string>();
  private readonly opts: DomainLabelOptions;

  constructor(opts: Partial<DomainLabelOptions> = {}) {
    this.opts = { ...DEFAULT_DOMAIN_LABEL_OPTIONS, ...opts };
    if (this.opts.trackedLimit <= this.opts.top) throw new Error(`trackedLimit (${this.opts.trackedLimit}) must exceed top (${this.opts.top}): the labelled domains are always tracked`);
  }

  /** Counts one send to `domain` and answers the label to count it under: the domain or `other`. */
  label(domain: string): string {
    const d = domain.trim().toLowerCase();
    if (d.length > 253 || d === OTHER || !PLAUSIBLE_DOMAIN.test(d)) return OTHER;
    const count = this.count(d);
    if (this.labelled.has(d)) return d;
    if (this.labelled.size < this.opts.top && count >= this.opts.minVolume) {
      this.labelled.add(d);
      return d;
    }
    return OTHER;
  }

  /** The domains labelled so far, in the order they were. */
  labels(): string[] {
    return [...this.labelled];
  }

  /** Sends to `d` known for certain: its count less what it inherited from the domain it replaced. */
  private count(d: string): number {
    const known = this.counts.get(d);
    if (known !== undefined) {
      known.n++;
      return known.n - known.inherited;
    }
    let inherited = 0;
    if (this.counts.size >= this.opts.trackedLimit) {
      let victim: string | null = null;
      let least = Infinity;
      for (const [other, { n }] of this.counts) {
        if (n < least && !this.labelled.has(other)) {
          victim = other;
          least = n;
        }
      }
      if (victim !== null) {
        this.counts.delete(victim);
        inherited = least;
      }
    }
    this.counts.set(d, { n: inherited + 1, inherited });
    return 1;
  }
}
