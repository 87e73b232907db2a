// Property tests of the reply classifier (README "Behaviour", Classification): whatever a server
// answers — random codes, malformed enhanced codes, unicode, control characters, megabytes of
// text — classification never throws and always lands in the contract's vocabulary, with the
// kind its category implies. Seeds: see test/helpers/properties.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { classifyLine, classifyReply, suppressesAddress } from '../../src/delivery/classify';
import { HARD_CATEGORIES, SOFT_CATEGORIES, type ClassifiedReply, type RawReply } from '../../src/delivery/contract';
import { CATEGORIES, KINDS, SCOPES, hostileString, runs } from '../helpers/properties';

function assertKnown(c: ClassifiedReply, input: unknown): void {
  const where = JSON.stringify(input)?.slice(0, 300);
  assert.ok(CATEGORIES.includes(c.category), `unknown category ${c.category} for ${where}`);
  assert.ok((KINDS as readonly string[]).includes(c.kind), `unknown kind ${c.kind} for ${where}`);
  assert.ok(SCOPES.includes(c.scope), `unknown scope ${c.scope} for ${where}`);
  const expectedKind = c.category === 'delivered' ? 'delivered' : (SOFT_CATEGORIES as readonly string[]).includes(c.category) ? 'soft' : 'hard';
  assert.equal(c.kind, expectedKind, `kind follows the category for ${where}`);
  assert.ok(c.retryAfterMs === null || (Number.isFinite(c.retryAfterMs) && c.retryAfterMs >= 0), `retryAfterMs ${c.retryAfterMs} for ${where}`);
  assert.equal(typeof suppressesAddress(c), 'boolean');
}

/** Enhanced codes as servers write them, and as they should not. */
const enhanced = fc.oneof(
  fc.constant(null),
  fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 1200 }), fc.integer({ min: 0, max: 1200 })).map(([a, b, c]) => `${a}.${b}.${c}`),
  fc.tuple(fc.constantFrom(2, 4, 5), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 999 })).map(([a, b, c]) => `${a}.${b}.${c}`),
  hostileString(20),
);

const code = fc.oneof(fc.constant(null), fc.integer({ min: 200, max: 599 }), fc.integer(), fc.constantFrom(NaN, Infinity, -0, 1e21));

/** Words the classifier's patterns look for, so random text reaches its refinements. */
const clue = fc.constantFrom('mailbox full', 'user unknown', 'greylisted', 'try again in 5 minutes', 'too many recipients', 'spam', 'rate limit', 'our IP', 'helo', 'quota', 'retry after 1:30', 'domain not found', 'disabled', 'Recipient address rejected', 'message too large');
const replyText = fc.oneof(
  hostileString(300),
  fc.array(fc.oneof(clue, hostileString(20)), { maxLength: 12 }).map((parts) => parts.join(' ')),
);

const rawReply: fc.Arbitrary<RawReply> = fc.record({
  code,
  enhanced,
  text: replyText,
  errorCode: fc.oneof(fc.constant(undefined), fc.constant(null), fc.constantFrom('ECONNREFUSED', 'ETIMEDOUT', 'ESOCKET', 'ERR_TLS_CERT_ALTNAME_INVALID'), hostileString(20)),
});

test('classifyReply: any reply classifies to a known kind, category and scope', () => {
  fc.assert(
    fc.property(rawReply, (reply) => assertKnown(classifyReply(reply), reply)),
    runs(500),
  );
});

test('classifyReply: a reply without any status code is never hard (README "Behaviour", Classification)', () => {
  fc.assert(
    fc.property(replyText, fc.option(hostileString(20)), (text, errorCode) => {
      const c = classifyReply({ code: null, enhanced: null, text, errorCode });
      assertKnown(c, { text, errorCode });
      assert.notEqual(c.kind, 'hard');
    }),
    runs(300),
  );
});

test('classifyLine: any SMTP reply line, well-formed or not, classifies to a known category', () => {
  const line = fc.oneof(
    hostileString(300),
    fc.tuple(fc.integer({ min: 100, max: 999 }), fc.constantFrom(' ', '-', '', ':', ';'), enhanced, replyText).map(([c, sep, e, t]) => `${c}${sep}${e ?? ''} ${t}`),
    fc.tuple(fc.array(fc.tuple(fc.integer({ min: 200, max: 599 }), replyText), { minLength: 1, maxLength: 5 })).map(([lines]) => lines.map(([c, t], i, all) => `${c}${i < all.length - 1 ? '-' : ' '}${t}`).join('\r\n')),
  );
  fc.assert(
    fc.property(line, (l) => assertKnown(classifyLine(l), l)),
    runs(500),
  );
});

test('classifyLine: megabyte-long replies classify (a catastrophically backtracking pattern would hang here)', () => {
  const huge = fc.tuple(fc.integer({ min: 200, max: 599 }), fc.oneof(clue, hostileString(12)), fc.integer({ min: 20_000, max: 120_000 })).map(([c, unit, times]) => `${c} ${unit.repeat(times).slice(0, 1_000_000)}`);
  fc.assert(
    fc.property(huge, (l) => assertKnown(classifyLine(l), `${l.slice(0, 40)}... (${l.length} characters)`)),
    runs(15),
  );
});
