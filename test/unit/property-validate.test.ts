// Property tests of the send request validator (README "Using it from a service"): on any input
// it returns a request or throws a ValidationError naming a field, never anything else; and no
// header injection passes it — CR, LF or NUL anywhere in the subject, an address or a header
// name or value is refused naming that field, and no accepted request carries a character that
// ends or splits a header line. Seeds: see test/helpers/properties.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ValidationError, validateSendRequest, type ValidatedSendRequest } from '../../src/message/validate';
import { INJECTION_CHARS, hostileString, runs, withInjection } from '../helpers/properties';

/** Runs the validator; a throw must be a ValidationError whose message names its field. */
function validate(input: unknown): { ok: true; value: ValidatedSendRequest } | { ok: false; error: ValidationError } {
  try {
    return { ok: true, value: validateSendRequest(input) };
  } catch (err) {
    assert.ok(err instanceof ValidationError, `not a ValidationError: ${String(err)} for ${JSON.stringify(input)?.slice(0, 300)}`);
    assert.equal(typeof err.field, 'string');
    const shown = /[\x00-\x1f]/.test(err.field) ? JSON.stringify(err.field).slice(1, -1) : err.field;
    assert.ok(err.message.includes(`"${shown}"`), `the message names the field: ${err.message}`);
    assert.ok(!/[\r\n\0]/.test(err.message), `the message has no raw CR/LF (it may reach a log): ${JSON.stringify(err.message)}`);
    return { ok: false, error: err };
  }
}

const address = fc.oneof(fc.emailAddress(), fc.constantFrom('a@example.com', 'Bob <bob@example.org>', '"Last, First" <lf@example.net>'), hostileString(60));
const addresses = fc.oneof(address, fc.array(address, { maxLength: 5 }), fc.anything());
const headers = fc.oneof(fc.dictionary(hostileString(20), fc.oneof(hostileString(40), fc.anything()), { maxKeys: 4 }), fc.anything());
const anyField = fc.oneof(hostileString(40), fc.anything());

/** Requests that are near-valid often enough to reach the later checks. */
const request = fc.record(
  {
    id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:@+-]{1,20}$/), anyField),
    from: address,
    to: addresses,
    cc: addresses,
    bcc: addresses,
    replyTo: address,
    subject: fc.oneof(hostileString(80), anyField),
    text: fc.oneof(fc.string(), anyField),
    html: fc.oneof(fc.string(), anyField),
    headers,
    profile: fc.oneof(fc.constantFrom('standard', 'urgent', 'bulk'), anyField),
    delays: fc.oneof(fc.array(fc.oneof(fc.constantFrom('1m', '5m', '1h', '0s', '-1m', '99999d'), fc.integer(), hostileString(8)), { maxLength: 4 }), anyField),
    deadline: fc.oneof(fc.constantFrom('72h', '1d', '0', '-1h'), fc.integer(), anyField),
  },
  { requiredKeys: [] },
);

test('validateSendRequest: any value gives a request or a ValidationError naming a field', () => {
  fc.assert(
    fc.property(fc.oneof(request, fc.anything(), fc.dictionary(hostileString(12), fc.anything())), (input) => {
      validate(input);
    }),
    runs(500),
  );
});

const BASE = { from: 'Sender <sender@example.com>', to: ['rcpt@example.org'], subject: 'Hello', text: 'body' };
const textLike = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('Sender', 'X-Campaign', 'value', 'a@example.com'));

/** A request with one injection character in one header-bound place; the field the error must name. */
const injected = fc.oneof(
  withInjection(textLike).map((subject) => ({ input: { ...BASE, subject: `Hi ${subject}` }, field: /^subject$/ })),
  withInjection(fc.constantFrom('sender@example.com', 'Name <sender@example.com>', '"Quoted" <s@example.com>')).map((from) => ({ input: { ...BASE, from }, field: /^from$/ })),
  withInjection(fc.constantFrom('rcpt@example.org', 'R <rcpt@example.org>')).map((to) => ({ input: { ...BASE, to: ['ok@example.org', to] }, field: /^to\[1\]$/ })),
  withInjection(fc.constantFrom('cc@example.org')).map((cc) => ({ input: { ...BASE, cc }, field: /^cc$/ })),
  withInjection(fc.constantFrom('bcc@example.org')).map((bcc) => ({ input: { ...BASE, bcc: [bcc] }, field: /^bcc\[0\]$/ })),
  withInjection(fc.constantFrom('reply@example.org')).map((replyTo) => ({ input: { ...BASE, replyTo }, field: /^replyTo$/ })),
  withInjection(fc.constantFrom('X-Campaign', 'List-Id')).map((name) => ({ input: { ...BASE, headers: { [name]: 'v' } }, field: /^headers\[/ })),
  fc.tuple(fc.constantFrom('X-Campaign', 'List-Id'), withInjection(textLike)).map(([name, value]) => ({ input: { ...BASE, headers: { [name]: value } }, field: /^headers\[/ })),
);

/** Every string in a value, object keys included. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => [k, ...stringsIn(v)]);
  return [];
}

/** Every string of the header-bound parts of an accepted request. */
function headerBound(v: ValidatedSendRequest): string[] {
  const boxes = [v.from, ...v.to, ...v.cc, ...v.bcc, ...(v.replyTo ? [v.replyTo] : [])];
  return [v.subject, ...boxes.flatMap((b) => [b.address, b.name ?? '']), ...Object.entries(v.headers).flat(), ...v.envelopeRecipients];
}

test('header injection: CR, LF or NUL in subject, from, to, cc, bcc, replyTo or a header never passes', () => {
  fc.assert(
    fc.property(injected, ({ input, field }) => {
      const result = validate(input);
      const json = JSON.stringify(input);
      // CR, LF and NUL are refused wherever they are, even where trimming would drop them.
      if (stringsIn(input).some((s) => /[\r\n\0]/.test(s))) assert.equal(result.ok, false, `accepted: ${json}`);
      if (result.ok) {
        // Only characters trimmed off the ends may pass, and then they are gone.
        for (const s of headerBound(result.value)) for (const bad of INJECTION_CHARS) assert.ok(!s.includes(bad), `${JSON.stringify(bad)} passed in ${JSON.stringify(s)}`);
      } else {
        assert.match(result.error.field, field, `${result.error.message} for ${json}`);
      }
    }),
    runs(500),
  );
});

test('header injection: no accepted request, however random, carries a line-breaking character in a header', () => {
  fc.assert(
    fc.property(request, (input) => {
      const result = validate(input);
      if (!result.ok) return;
      for (const s of headerBound(result.value)) assert.ok(!/[\r\n\0\u2028\u2029]/.test(s), `accepted ${JSON.stringify(s)}`);
    }),
    runs(300),
  );
});
