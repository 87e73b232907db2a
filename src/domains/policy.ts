// Retry policy per recipient domain: which configuration-file rule applies to an address and
// which schedule each recipient of a message ends up with. Pure: no I/O and no Node built-ins,
// because workflow code may import it.
import { DEFAULT_PROFILE, PROFILES, resolveSchedule } from '../delivery/schedule';
import { domainOf } from '../message/address';
import { type ProfileName, type RetrySchedule, type SchedulePlan, type ScheduleSource } from '../delivery/contract';

/** The schedule fields a message or a domain rule may set. */
export interface ScheduleFields {
  profile?: ProfileName;
  delays?: (string | number)[];
  deadline?: string | number;
}

/** One entry of the configuration file's `domains` mapping, validated. */
export interface DomainRule {
  /** The key, trimmed and lower-cased: `example.org` or `*.example.com`. */
  pattern: string;
  /** The rule applied on its own over the `standard` profile. */
  schedule: RetrySchedule;
  profile: ProfileName | 'custom';
  /** The fields as the file wrote them: {@link planSchedules} merges them field by field. */
  given: ScheduleFields;
  /** Direct delivery's STARTTLS for the domain (README "Direct delivery", TLS); absent: opportunistic. */
  tls?: TlsLevel;
}

/** `tls:` of a rule: `required` refuses to send the domain's mail in plaintext. */
export const TLS_LEVELS = ['opportunistic', 'required'] as const;
export type TlsLevel = (typeof TLS_LEVELS)[number];

const WILDCARD_PREFIX = '*.';
const MAX_DOMAIN_LENGTH = 253;
// Letters, digits and hyphens, not at either end, at most 63 characters. Letters and digits
// include non-ASCII ones (and combining marks) because IDN keys are written as users see them.
const LABEL = /^[\p{L}\p{N}\p{M}](?:[\p{L}\p{N}\p{M}-]{0,61}[\p{L}\p{N}\p{M}])?$/u;

/**
 * How domain keys and recipient domains are compared: trimmed and lower-cased, nothing else.
 * IDNs are not converted between Unicode and punycode, so `münchen.de` and
 * `xn--mnchen-3ya.de` are different keys; write the form your recipients' addresses use.
 */
export function normaliseDomainKey(key: string): string {
  return key.trim().toLowerCase();
}

function domainNameProblem(name: string): string | null {
  if (name === '') return 'the domain is empty';
  if (name.endsWith('.')) return 'write the domain without a trailing dot';
  if (name.length > MAX_DOMAIN_LENGTH) return `a domain has at most ${MAX_DOMAIN_LENGTH} characters`;
  for (const label of name.split('.')) {
    if (label === '') return 'it has an empty label (two dots in a row, or a leading dot)';
    if (!LABEL.test(label)) {
      return `${JSON.stringify(label)} is not a valid label (letters, digits and hyphens, not starting or ending with a hyphen, at most 63 characters)`;
    }
  }
  return null;
}

/**
 * Why a (normalised) domain key is not usable, or null when it is. A key is a domain name or
 * `*.` followed by one; the wildcard is only allowed as the whole first label.
 */
export function domainKeyProblem(key: string): string | null {
  const isPattern = key.startsWith(WILDCARD_PREFIX);
  const name = isPattern ? key.slice(WILDCARD_PREFIX.length) : key;
  if (name.includes('*')) return 'a wildcard is only allowed as the whole first label, as in "*.example.com"';
  const problem = domainNameProblem(name);
  return problem === null ? null : `not a valid domain name: ${problem}`;
}

/**
 * The rule for a recipient domain: the rule whose key is exactly the domain, else the `*.`
 * pattern with the longest suffix. `*.example.com` matches `a.example.com` and
 * `a.b.example.com` (any depth) but NOT `example.com` itself: give that its own key.
 * Rule patterns are expected normalised (as the config-file loader makes them); the domain is
 * normalised here.
 */
export function matchDomainRule(domain: string, rules: DomainRule[]): DomainRule | null {
  const wanted = normaliseDomainKey(domain);
  if (wanted === '') return null;
  let best: DomainRule | null = null;
  let bestSuffixLength = -1;
  for (const rule of rules) {
    if (rule.pattern === wanted) return rule;
    if (!rule.pattern.startsWith(WILDCARD_PREFIX)) continue;
    const dotSuffix = rule.pattern.slice(1); // ".example.com"
    const matches = wanted.length > dotSuffix.length && wanted.endsWith(dotSuffix);
    if (matches && dotSuffix.length > bestSuffixLength) {
      best = rule;
      bestSuffixLength = dotSuffix.length;
    }
  }
  return best;
}

/** Where one field of the effective schedule came from. */
interface FieldOrigin<T> {
  value: T;
  source: ScheduleSource;
  /** The profile the value was taken from unchanged, null for an explicit value. */
  profile: ProfileName | null;
}

/** A message's or a rule's contribution: the fields it gave, resolved. */
interface Layer {
  source: 'message' | 'domain';
  given: ScheduleFields;
  resolved: RetrySchedule;
}

/** The first layer that covers a field (its own value, else its profile's), else `standard`. */
function pickField<T>(
  layers: Layer[],
  gives: (fields: ScheduleFields) => boolean,
  read: (schedule: RetrySchedule) => T,
): FieldOrigin<T> {
  for (const layer of layers) {
    if (gives(layer.given)) return { value: read(layer.resolved), source: layer.source, profile: null };
    const profile = layer.given.profile;
    if (profile !== undefined) return { value: read(layer.resolved), source: layer.source, profile };
  }
  return { value: read(PROFILES[DEFAULT_PROFILE]), source: 'default', profile: DEFAULT_PROFILE };
}

function ruleLayer(rule: DomainRule): Layer {
  return { source: 'domain', given: rule.given, resolved: rule.schedule };
}

function combinedSource(origins: FieldOrigin<unknown>[]): ScheduleSource {
  if (origins.some((o) => o.source === 'domain')) return 'domain';
  if (origins.some((o) => o.source === 'message')) return 'message';
  return 'default';
}

/**
 * Each recipient's effective schedule, grouped into plans.
 *
 * Precedence, decided separately for the delays and for the deadline:
 *   1. the message's own `delays` (`deadline`),
 *   2. else those of the message's own `profile`,
 *   3. else the matching domain rule's `delays` (`deadline`),
 *   4. else those of the rule's `profile`,
 *   5. else the `standard` profile's.
 * So a message that sets only a deadline still gets its recipients' domain delays, and a message
 * that names a profile overrides every domain rule. A merged delay may exceed the deadline
 * (domain delays 4h, message deadline 1h): the scheduler then makes one last attempt at the
 * deadline.
 *
 * `source` is `domain` when any field came from a rule (then `rule` is its pattern), else
 * `message` when any came from the message, else `default`. `profile` is a profile name when both
 * fields come unchanged from that profile, else `custom`.
 *
 * Recipients with the same schedule, profile, source and rule share a plan; plans are in the
 * order of their first recipient. The message's fields must already be valid (validateSendRequest
 * checked them); a rule's were checked when the file was loaded.
 */
export function planSchedules(message: ScheduleFields, recipients: string[], rules: DomainRule[]): SchedulePlan[] {
  const messageLayer: Layer = { source: 'message', given: message, resolved: resolveSchedule(message).schedule };
  const plans = new Map<string, SchedulePlan>();
  for (const recipient of recipients) {
    const plan = planFor(messageLayer, matchDomainRule(domainOf(recipient), rules));
    const key = JSON.stringify([plan.schedule.delaysMs, plan.schedule.deadlineMs, plan.profile, plan.source, plan.rule]);
    const existing = plans.get(key);
    if (existing) existing.recipients.push(recipient);
    else plans.set(key, { recipients: [recipient], ...plan });
  }
  return [...plans.values()];
}

/** One recipient's schedule: the message's fields over its domain rule's, field by field. */
function planFor(messageLayer: Layer, rule: DomainRule | null): Omit<SchedulePlan, 'recipients'> {
  const layers = rule ? [messageLayer, ruleLayer(rule)] : [messageLayer];
  const delays = pickField(layers, (f) => f.delays !== undefined, (s) => [...s.delaysMs]);
  const deadline = pickField(layers, (f) => f.deadline !== undefined, (s) => s.deadlineMs);
  const source = combinedSource([delays, deadline]);
  return {
    schedule: { delaysMs: delays.value, deadlineMs: deadline.value },
    profile: delays.profile !== null && delays.profile === deadline.profile ? delays.profile : 'custom',
    source,
    rule: source === 'domain' && rule ? rule.pattern : null,
  };
}
