// What the Temporal UI shows of a delivery (README "Inspecting and steering runs in the Temporal
// UI"): the run's one-line summary in the list, and the names of its activities and timers in
// the timeline. Pure and deterministic, imported by workflow code. Never the subject, a body or
// an address: the summaries are stored in the history.
import type { SchedulePlan, SoftCategory } from './contract';

/** How many recipient domains a run's summary names before it says "+N more". */
const MAX_DOMAINS = 3;

/** "2 recipients · profile standard · example.com, example.org" (the list's summary column). */
export function deliverySummary(domains: readonly string[], recipientCount: number, profiles: readonly string[]): string {
  const unique = [...new Set(domains)].sort();
  const shown = unique.slice(0, MAX_DOMAINS).join(', ') + (unique.length > MAX_DOMAINS ? ` +${unique.length - MAX_DOMAINS} more` : '');
  const profile = [...new Set(profiles)];
  const noun = recipientCount === 1 ? 'recipient' : 'recipients';
  return `${recipientCount} ${noun} · ${profile.length === 1 ? `profile ${profile[0]}` : `profiles ${profile.join(', ')}`} · ${shown}`;
}

/** The profiles a message's recipients follow, for its summary. */
export function planProfiles(plans: readonly SchedulePlan[]): string[] {
  return plans.map((p) => p.profile);
}

/** A duration as people read it in a timeline: 45s, 5m, 1h 30m, 2d 3h. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const units: [number, string][] = [
    [86_400, 'd'],
    [3_600, 'h'],
    [60, 'm'],
    [1, 's'],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [size, unit] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

const CATEGORY_WORDS: Record<SoftCategory, string> = {
  mailbox_full: 'mailbox full',
  greylisted: 'greylisted',
  rate_limited: 'rate limited',
  server_unavailable: 'server unavailable',
  network_error: 'network error',
  temporary_failure: 'temporary failure',
};

/** "wait 1m (mailbox full)": the timer before the next attempt, named by the soft replies that caused it. */
export function waitSummary(ms: number, softCategories: readonly SoftCategory[]): string {
  const reasons = [...new Set(softCategories)].map((c) => CATEGORY_WORDS[c] ?? c);
  return `wait ${humanDuration(ms)}${reasons.length > 0 ? ` (${reasons.join(', ')})` : ''}`;
}

/** "attempt 2 · 3 recipients": the send activity in the timeline. */
export function attemptSummary(attempt: number, recipientCount: number): string {
  return `attempt ${attempt} · ${recipientCount} ${recipientCount === 1 ? 'recipient' : 'recipients'}`;
}
