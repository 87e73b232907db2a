// Routing of direct delivery (README "Direct delivery"): what an MX lookup becomes, and how the
// classifier reads the replies routing makes without any connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyReply } from '../../src/delivery/classify';
import { hostsByPreference, routeOf, type MxLookup, type Route } from '../../src/smtp/direct/route';
import { recipientsByDomain } from '../../src/smtp/direct/sender';

/** A "random" source that returns the given numbers in turn. */
const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length];
};
const first = () => 0;

test('routeOf: MX lookups to hosts or settled replies', () => {
  const cases: { name: string; lookup: MxLookup; hosts?: string[]; category?: string; kind?: string; scope?: string }[] = [
    { name: 'one MX', lookup: { kind: 'records', records: [{ exchange: 'mx.example.com', priority: 10 }] }, hosts: ['mx.example.com'] },
    {
      name: 'preference order, lowest first, whatever order DNS gave',
      lookup: { kind: 'records', records: [{ exchange: 'backup.example.com', priority: 20 }, { exchange: 'primary.example.com', priority: 5 }, { exchange: 'last.example.com', priority: 50 }] },
      hosts: ['primary.example.com', 'backup.example.com', 'last.example.com'],
    },
    { name: 'trailing dot and case dropped', lookup: { kind: 'records', records: [{ exchange: 'MX.Example.COM.', priority: 0 }] }, hosts: ['mx.example.com'] },
    { name: 'a host listed twice is tried once', lookup: { kind: 'records', records: [{ exchange: 'a.example.com', priority: 10 }, { exchange: 'a.example.com', priority: 20 }] }, hosts: ['a.example.com'] },
    { name: 'no MX records: the implicit MX, the domain itself', lookup: { kind: 'no_records' }, hosts: ['example.com'] },
    { name: 'an empty record set: the implicit MX', lookup: { kind: 'records', records: [] }, hosts: ['example.com'] },
    { name: 'null MX (RFC 7505)', lookup: { kind: 'records', records: [{ exchange: '', priority: 0 }] }, kind: 'hard', category: 'unknown_domain', scope: 'recipient' },
    { name: 'null MX written with the dot', lookup: { kind: 'records', records: [{ exchange: '.', priority: 0 }] }, kind: 'hard', category: 'unknown_domain', scope: 'recipient' },
    { name: 'NXDOMAIN', lookup: { kind: 'no_such_domain' }, kind: 'hard', category: 'unknown_domain', scope: 'recipient' },
    { name: 'SERVFAIL', lookup: { kind: 'unanswered', errorCode: 'ESERVFAIL' }, kind: 'soft', category: 'network_error', scope: 'destination' },
    { name: 'resolver timeout', lookup: { kind: 'unanswered', errorCode: 'ETIMEOUT' }, kind: 'soft', category: 'network_error', scope: 'destination' },
    { name: 'resolver refused', lookup: { kind: 'unanswered', errorCode: 'ECONNREFUSED' }, kind: 'soft', category: 'network_error', scope: 'destination' },
  ];
  for (const c of cases) {
    const route: Route = routeOf('example.com', c.lookup, first);
    if (c.hosts) {
      assert.deepEqual(route, { kind: 'hosts', hosts: c.hosts }, c.name);
      continue;
    }
    assert.equal(route.kind, 'settled', c.name);
    if (route.kind !== 'settled') continue;
    const classified = classifyReply(route.reply);
    assert.deepEqual({ kind: classified.kind, category: classified.category, scope: classified.scope }, { kind: c.kind, category: c.category, scope: c.scope }, c.name);
    assert.match(route.reply.text, /example\.com/, `${c.name}: the reply names the domain`);
  }
});

test('hostsByPreference: equal preferences are shuffled with the injected random, groups stay in order', () => {
  const records = [
    { exchange: 'a.example.com', priority: 10 },
    { exchange: 'b.example.com', priority: 10 },
    { exchange: 'c.example.com', priority: 10 },
    { exchange: 'backup.example.com', priority: 20 },
  ];
  const cases: { random: () => number; hosts: string[] }[] = [
    // Fisher-Yates from the end: j = floor(r * (i + 1)) for i = 2, 1.
    { random: sequence(0.99, 0.99), hosts: ['a.example.com', 'b.example.com', 'c.example.com', 'backup.example.com'] },
    { random: sequence(0, 0), hosts: ['b.example.com', 'c.example.com', 'a.example.com', 'backup.example.com'] },
    { random: sequence(0.5, 0), hosts: ['c.example.com', 'a.example.com', 'b.example.com', 'backup.example.com'] },
  ];
  for (const c of cases) assert.deepEqual(hostsByPreference(records, c.random), c.hosts);
  // Over many draws every host of the group comes first sometimes, the backup never.
  const firsts = new Set(Array.from({ length: 200 }, () => hostsByPreference(records, Math.random)[0]));
  assert.deepEqual([...firsts].sort(), ['a.example.com', 'b.example.com', 'c.example.com']);
});

test('recipientsByDomain: one group per domain, in order, domains compared in lower case', () => {
  const cases: { recipients: string[]; groups: [string, string[]][] }[] = [
    { recipients: ['a@one.test'], groups: [['one.test', ['a@one.test']]] },
    { recipients: ['a@one.test', 'b@two.test', 'c@One.Test'], groups: [['one.test', ['a@one.test', 'c@One.Test']], ['two.test', ['b@two.test']]] },
    { recipients: ['"odd@local"@three.test'], groups: [['three.test', ['"odd@local"@three.test']]] },
  ];
  for (const c of cases) assert.deepEqual([...recipientsByDomain(c.recipients)], c.groups);
});
