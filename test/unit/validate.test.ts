import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError, validateSendRequest, type SendRequest } from '../../src/message/validate';
import { parseMailbox, utf8Length } from '../../src/message/address';
import { ValidationError as BaseValidationError } from '../../src/errors';
import { PROFILES } from '../../src/delivery/schedule';

const base: SendRequest = {
  from: 'Shop <shop@example.com>',
  to: 'alice@example.org',
  subject: 'Your receipt',
  text: 'Thanks!',
};

function req(overrides: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base, ...overrides };
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
  return out;
}

function expectField(input: unknown, field: string, message?: RegExp, opts?: { maxBytes?: number }): void {
  assert.throws(
    () => validateSendRequest(input, opts),
    (err: unknown) => {
      assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
      assert.equal(err.field, field, `field for ${err.message}`);
      assert.ok(err.message.startsWith(`Invalid field "${field}": `), err.message);
      assert.ok(!/[\r\n]/.test(err.message), 'error message is a single line');
      if (message) assert.match(err.message, message);
      return true;
    },
  );
}

test('ValidationError is the shared class and formats its message', () => {
  assert.equal(ValidationError, BaseValidationError);
  const err = new ValidationError('to[1]', '"bob@" is not a valid email address');
  assert.equal(err.message, 'Invalid field "to[1]": "bob@" is not a valid email address');
  assert.equal(err.field, 'to[1]');
  assert.equal(err.name, 'ValidationError');
  assert.ok(err instanceof Error);
});

test('a valid request is normalised', () => {
  const result = validateSendRequest({
    id: 'order-42:receipt@shop+v1',
    from: 'Shop <shop@example.com>',
    to: ['Alice <Alice@Example.org>', 'bob@example.net'],
    cc: 'carol@example.com',
    bcc: [' ALICE@example.org ', 'audit@localhost'],
    replyTo: '"Support, Shop" <support@example.com>',
    subject: 'Your receipt',
    text: 'Thanks!',
    html: '<p>Thanks!</p>',
    headers: { 'X-Campaign': 'spring', 'List-Unsubscribe': '<mailto:unsub@example.com>' },
  });
  assert.deepEqual(result, {
    id: 'order-42:receipt@shop+v1',
    from: { name: 'Shop', address: 'shop@example.com' },
    to: [{ name: 'Alice', address: 'Alice@Example.org' }, { address: 'bob@example.net' }],
    cc: [{ address: 'carol@example.com' }],
    bcc: [{ address: 'ALICE@example.org' }, { address: 'audit@localhost' }],
    replyTo: { name: 'Support, Shop', address: 'support@example.com' },
    subject: 'Your receipt',
    text: 'Thanks!',
    html: '<p>Thanks!</p>',
    headers: { 'X-Campaign': 'spring', 'List-Unsubscribe': '<mailto:unsub@example.com>' },
    envelopeRecipients: ['alice@example.org', 'bob@example.net', 'carol@example.com', 'audit@localhost'],
    schedule: { delaysMs: [...PROFILES.standard.delaysMs], deadlineMs: PROFILES.standard.deadlineMs },
    profile: 'standard',
  });
});

test('minimal request: defaults', () => {
  const result = validateSendRequest(base);
  assert.deepEqual(result.to, [{ address: 'alice@example.org' }]);
  assert.deepEqual(result.cc, []);
  assert.deepEqual(result.bcc, []);
  assert.deepEqual(result.headers, {});
  assert.equal(result.id, undefined);
  assert.equal(result.replyTo, undefined);
  assert.equal(result.html, undefined);
  assert.equal(result.profile, 'standard');
  // null optional fields count as absent (JSON callers)
  assert.equal(validateSendRequest(req({ cc: null, html: null, id: null })).cc.length, 0);
});

test('schedule fields', () => {
  assert.equal(validateSendRequest(req({ profile: 'urgent' })).profile, 'urgent');
  const custom = validateSendRequest(req({ profile: 'bulk', delays: ['1m', '10m'], deadline: '24h' }));
  assert.equal(custom.profile, 'custom');
  assert.deepEqual(custom.schedule, { delaysMs: [60_000, 600_000], deadlineMs: 86_400_000 });
  expectField(req({ profile: 'turbo' }), 'profile');
  expectField(req({ delays: ['5m', '15m', 'soon'] }), 'delays[2]');
  expectField(req({ delays: ['5m', '90'] }), 'delays[1]', /no unit/);
  expectField(req({ delays: [] }), 'delays');
  expectField(req({ deadline: '31d' }), 'deadline', /30 days/);
  expectField(req({ deadline: 0 }), 'deadline');
  expectField(req({ deadline: '1h', delays: ['2h'] }), 'delays[0]');
});

test('bad addresses name the field', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ to: 'bob@' }, 'to'],
    [{ to: ['alice@example.org', 'bob@'] }, 'to[1]'],
    [{ to: ['alice@example.org', '@example.org'] }, 'to[1]'],
    [{ to: 'bob' }, 'to'],
    [{ to: 'bob@example' }, 'to'],
    [{ to: 'bob smith@example.com' }, 'to'],
    [{ to: 'a@example.com, b@example.com' }, 'to'],
    [{ to: 'a@example.com;b@example.com' }, 'to'],
    [{ to: 'a@b@example.com' }, 'to'],
    [{ to: '.a@example.com' }, 'to'],
    [{ to: 'a..b@example.com' }, 'to'],
    [{ to: 'a.@example.com' }, 'to'],
    [{ to: '"a b"@example.com' }, 'to'],
    [{ to: 'a@-example.com' }, 'to'],
    [{ to: 'a@example-.com' }, 'to'],
    [{ to: 'a@example..com' }, 'to'],
    [{ to: 'a@example.com.' }, 'to'],
    [{ to: 'a@exa_mple.com' }, 'to'],
    [{ to: 'a@[192.0.2.1]' }, 'to'],
    [{ to: 'a@192.0.2.1' }, 'to'],
    [{ to: `${'a'.repeat(65)}@example.com` }, 'to'],
    [{ to: `a@${'b'.repeat(64)}.com` }, 'to'],
    [{ to: `a@${'b.'.repeat(130)}com` }, 'to'],
    [{ to: 'Alice <alice@example.org' }, 'to'],
    [{ to: 'Alice <<alice@example.org>>' }, 'to'],
    [{ to: 'Alice <>' }, 'to'],
    [{ to: 'Smith, Alice <alice@example.org>' }, 'to'],
    [{ to: '"Alice <alice@example.org>' }, 'to'],
    [{ to: '' }, 'to'],
    [{ to: [] }, 'to'],
    [{ to: 42 }, 'to'],
    [{ to: ['alice@example.org', 42] }, 'to[1]'],
    [{ to: { address: 'a@example.com' } }, 'to'],
    [{ cc: ['ok@example.com', 'nope'] }, 'cc[1]'],
    [{ bcc: 'nope' }, 'bcc'],
    [{ from: 'shop' }, 'from'],
    [{ from: ['shop@example.com'] }, 'from'],
    [{ replyTo: 'Support <support@>' }, 'replyTo'],
    [{ replyTo: ['a@example.com', 'b@example.com'] }, 'replyTo'],
  ];
  for (const [overrides, field] of cases) expectField(req(overrides), field);
  expectField(req({ to: ['alice@example.org', 'bob@'] }), 'to[1]', /"bob@" is not a valid email address/);
  expectField(req({ to: 'a@example.com, b@example.com' }), 'to', /use a list/);
});

test('accepted address forms', () => {
  const cases: [string, { name?: string; address: string }][] = [
    ['a@example.com', { address: 'a@example.com' }],
    ['  a@example.com  ', { address: 'a@example.com' }],
    ['first.last+tag@sub.example.co.uk', { address: 'first.last+tag@sub.example.co.uk' }],
    ["o'brien@example.ie", { address: "o'brien@example.ie" }],
    ['root@localhost', { address: 'root@localhost' }],
    ['<a@example.com>', { address: 'a@example.com' }],
    ['Alice Smith <a@example.com>', { name: 'Alice Smith', address: 'a@example.com' }],
    ['"Smith, Alice" <a@example.com>', { name: 'Smith, Alice', address: 'a@example.com' }],
    ['"Alice \\"Al\\" Smith" <a@example.com>', { name: 'Alice "Al" Smith', address: 'a@example.com' }],
    ['a@example.com <a@example.com>', { name: 'a@example.com', address: 'a@example.com' }],
    ['Zoë <zoë@bücher.de>', { name: 'Zoë', address: 'zoë@bücher.de' }],
    [`${'a'.repeat(64)}@example.com`, { address: `${'a'.repeat(64)}@example.com` }],
  ];
  for (const [input, expected] of cases) assert.deepEqual(parseMailbox(input, 'to'), expected, input);
});

test('CR/LF (header injection) is rejected in subject, headers and display names', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ subject: 'Hi\r\nBcc: victim@example.com' }, 'subject'],
    [{ subject: 'Hi\nthere' }, 'subject'],
    [{ subject: 'Hi\rthere' }, 'subject'],
    [{ subject: 'Hi\u0000there' }, 'subject'],
    [{ from: 'Shop\r\nBcc: victim@example.com <shop@example.com>' }, 'from'],
    [{ to: ['ok@example.com', '"Eve\nX" <eve@example.com>'] }, 'to[1]'],
    [{ replyTo: 'Support\r <support@example.com>' }, 'replyTo'],
    [{ to: 'alice@example.org\r\nBcc: victim@example.com' }, 'to'],
    [{ headers: { 'X-Campaign': 'spring\r\nBcc: victim@example.com' } }, 'headers["X-Campaign"]'],
    [{ headers: { 'X-Campaign': 'spring\n' } }, 'headers["X-Campaign"]'],
    [{ headers: { 'X-Evil\r\nBcc': 'x' } }, 'headers["X-Evil\\r\\nBcc"]'],
  ];
  for (const [overrides, field] of cases) expectField(req(overrides), field, /CR or LF|control/);
  expectField(req({ subject: 'Hi\r\nBcc: x@example.com' }), 'subject', /header injection/);
});

test('custom headers', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ headers: { 'X Campaign': 'x' } }, 'headers["X Campaign"]'],
    [{ headers: { 'X:Campaign': 'x' } }, 'headers["X:Campaign"]'],
    [{ headers: { '': 'x' } }, 'headers[""]'],
    [{ headers: { 'X-Zoë': 'x' } }, 'headers["X-Zoë"]'],
    [{ headers: { Bcc: 'victim@example.com' } }, 'headers["Bcc"]'],
    [{ headers: { from: 'x@example.com' } }, 'headers["from"]'],
    [{ headers: { 'MESSAGE-ID': '<x@y>' } }, 'headers["MESSAGE-ID"]'],
    [{ headers: { 'Content-Type': 'text/plain' } }, 'headers["Content-Type"]'],
    [{ headers: { 'Content-Transfer-Encoding': '8bit' } }, 'headers["Content-Transfer-Encoding"]'],
    [{ headers: { 'Mime-Version': '1.0' } }, 'headers["Mime-Version"]'],
    [{ headers: { Date: 'now' } }, 'headers["Date"]'],
    [{ headers: { Subject: 'x' } }, 'headers["Subject"]'],
    [{ headers: { To: 'x@example.com' } }, 'headers["To"]'],
    [{ headers: { Cc: 'x@example.com' } }, 'headers["Cc"]'],
    [{ headers: { 'X-Count': 3 } }, 'headers["X-Count"]'],
    [{ headers: { 'X-A': 'a', 'x-a': 'b' } }, 'headers["x-a"]'],
    [{ headers: 'X-A: a' }, 'headers'],
    [{ headers: [['X-A', 'a']] }, 'headers'],
  ];
  for (const [overrides, field] of cases) expectField(req(overrides), field);
  // "__proto__" from JSON is an ordinary (valid) header name and must stay an own property.
  const parsed = JSON.parse('{"headers": {"__proto__": "x", "X-Tab": "a\\tb"}}');
  const result = validateSendRequest(req(parsed));
  assert.deepEqual(Object.keys(result.headers), ['__proto__', 'X-Tab']);
  assert.equal(Object.getPrototypeOf(result.headers), Object.prototype);
});

test('utf8Length counts UTF-8 bytes', () => {
  const cases: [string, number][] = [['', 0], ['abc', 3], ['é', 2], ['€', 3], ['😀', 4], ['aé€😀', 10], ['\ud800', 3]];
  for (const [value, bytes] of cases) assert.equal(utf8Length(value), bytes, JSON.stringify(value));
});

test('size limit', () => {
  const limit = 1000;
  expectField(req({ text: 'a'.repeat(1001) }), 'text', /size limit/, { maxBytes: limit });
  expectField(req({ text: undefined, html: 'a'.repeat(1001) }), 'html', /size limit/, { maxBytes: limit });
  expectField(req({ text: 'a'.repeat(600), html: 'b'.repeat(600) }), 'message', /size limit/, { maxBytes: limit });
  // UTF-8 bytes, not characters: 400 x "é" is 800 bytes, 10 x emoji is 40.
  expectField(req({ text: 'é'.repeat(400), html: '😀'.repeat(50) }), 'message', undefined, { maxBytes: limit });
  expectField(req({ text: 'a'.repeat(990), headers: { 'X-Pad': 'p'.repeat(10) } }), 'message', undefined, { maxBytes: limit });
  // At the limit exactly: fine (subject "Your receipt" is 12 bytes).
  validateSendRequest(req({ text: 'a'.repeat(limit - 12) }), { maxBytes: limit });
  // The default is 25 MiB.
  const big = 'a'.repeat(25 * 1024 * 1024);
  expectField(req({ text: big + 'a' }), 'text', /26214401 bytes/);
  validateSendRequest(req({ text: undefined, html: big.slice(0, 25 * 1024 * 1024 - 12) }));
  assert.throws(() => validateSendRequest(base, { maxBytes: 0 }), TypeError);
});

test('missing and mistyped required fields', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ from: undefined }, 'from'],
    [{ from: null }, 'from'],
    [{ to: undefined }, 'to'],
    [{ subject: undefined }, 'subject'],
    [{ subject: '' }, 'subject'],
    [{ subject: '   ' }, 'subject'],
    [{ subject: 42 }, 'subject'],
    [{ subject: 'x'.repeat(999) }, 'subject'],
    [{ text: undefined }, 'text'],
    [{ text: '' }, 'text'],
    [{ text: undefined, html: '' }, 'html'],
    [{ text: 42 }, 'text'],
    [{ html: ['<p>'] }, 'html'],
  ];
  for (const [overrides, field] of cases) expectField(req(overrides), field);
  expectField(null, 'message');
  expectField('hello', 'message');
  expectField([base], 'message');
  // html alone is enough
  assert.equal(validateSendRequest(req({ text: undefined, html: '<p>x</p>' })).html, '<p>x</p>');
});

test('unknown top-level fields are rejected by name', () => {
  expectField(req({ bbc: 'x@example.com' }), 'bbc', /unknown field; did you mean "bcc"/);
  expectField(req({ reply_to: 'x@example.com' }), 'reply_to', /did you mean "replyTo"/);
  expectField(req({ Subject: 'x' }), 'Subject', /did you mean "subject"/);
  expectField(req({ attachments: [] }), 'attachments', /unknown field \(known fields/);
  expectField(JSON.parse('{"from":"a@example.com","to":"b@example.com","subject":"s","text":"t","__proto__":{}}'), '__proto__');
});

test('idempotency key', () => {
  const ok = ['a', 'order-42', 'A.b_c:d@e+f-g', '0'.repeat(200)];
  for (const id of ok) assert.equal(validateSendRequest(req({ id })).id, id);
  const bad: unknown[] = ['', 'has space', 'tab\there', 'new\nline', 'slash/no', 'ünïcode', '0'.repeat(201), 42, {}];
  for (const id of bad) expectField(req({ id }), 'id');
});

test('recipients are de-duplicated after normalising; at most 1000 in total', () => {
  const result = validateSendRequest(
    req({
      to: ['Bob <Bob@Example.com>', 'alice@example.org', 'bob@example.com'],
      cc: ['ALICE@EXAMPLE.ORG', 'carol@example.com'],
      bcc: ['Carol@example.com', 'dave@example.com'],
    }),
  );
  assert.deepEqual(result.envelopeRecipients, ['bob@example.com', 'alice@example.org', 'carol@example.com', 'dave@example.com']);
  // Header lists keep what the caller wrote.
  assert.equal(result.to.length, 3);
  assert.equal(result.to[0].address, 'Bob@Example.com');

  const many = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}@example.com`);
  assert.equal(validateSendRequest(req({ to: many(1000, 'u') })).envelopeRecipients.length, 1000);
  expectField(req({ to: many(1001, 'u') }), 'to', /too many recipients/);
  expectField(req({ to: many(600, 'u'), cc: many(300, 'c'), bcc: many(101, 'b') }), 'bcc', /1001/);
  expectField(req({ to: many(600, 'u'), cc: many(401, 'c') }), 'cc', /1001/);
});
