// The pure parts of the HTTP API's lists (README "HTTP API", lists): the visibility query built
// from the filters, limits, and the cursors of both lists.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeMessageCursor, listLimit, messageListQuery, messagePageToken, visibilityString } from '../../src/api/routes/messages-list';
import { ValidationError } from '../../src/errors';
import { decodeSuppressionCursor, encodeSuppressionCursor } from '../../src/reputation/list';

const fails = (fn: () => unknown, field: string): void => {
  assert.throws(fn, (err: unknown) => err instanceof ValidationError && err.field === field, `expected a ValidationError naming ${field}`);
};

test('messageListQuery: each filter a term, values quoted', () => {
  const cases: [Record<string, string>, string][] = [
    [{}, 'WorkflowType = "deliveryWorkflow"'],
    [{ state: 'retrying' }, 'WorkflowType = "deliveryWorkflow" AND DeliveryState = "retrying"'],
    [{ domain: ' Example.ORG ' }, 'WorkflowType = "deliveryWorkflow" AND RecipientDomains = "example.org"'],
    [{ category: 'mailbox_full', state: 'failed' }, 'WorkflowType = "deliveryWorkflow" AND DeliveryState = "failed" AND BounceCategories = "mailbox_full"'],
  ];
  for (const [filters, query] of cases) assert.equal(messageListQuery(filters), query, JSON.stringify(filters));
});

test('messageListQuery: unknown states and categories, and non-domains, name their field', () => {
  const cases: [Record<string, string>, string][] = [
    [{ state: 'bogus' }, 'state'],
    [{ state: 'retrying" OR "1" = "1' }, 'state'],
    [{ category: 'delivered' }, 'category'],
    [{ category: '' }, 'category'],
    [{ domain: 'a@b.test' }, 'domain'],
    [{ domain: 'x" OR WorkflowType != "y' }, 'domain'],
    [{ domain: '' }, 'domain'],
  ];
  for (const [filters, field] of cases) fails(() => messageListQuery(filters), field);
});

test('visibilityString escapes quotes and backslashes', () => {
  const cases: [string, string][] = [
    ['plain', '"plain"'],
    ['a"b', '"a\\"b"'],
    ['a\\', '"a\\\\"'],
  ];
  for (const [value, literal] of cases) assert.equal(visibilityString(value), literal);
});

test('listLimit: 1 to max, default when absent', () => {
  const good: [string | undefined, number][] = [
    [undefined, 25],
    ['1', 1],
    ['100', 100],
  ];
  for (const [value, n] of good) assert.equal(listLimit(value), n);
  for (const value of ['0', '101', '-1', '2.5', 'ten', '', '1e2']) fails(() => listLimit(value), 'limit');
  assert.equal(listLimit('1000', 100, 1000), 1000);
});

test('message cursors carry the page token and belong to their query', () => {
  const token = Uint8Array.from([1, 2, 3, 250]);
  const q = messageListQuery({ state: 'retrying' });
  const cursor = encodeMessageCursor(q, token);
  assert.match(cursor, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual([...messagePageToken(q, cursor)!], [...token]);
  assert.equal(messagePageToken(q, undefined), undefined);
  fails(() => messagePageToken(messageListQuery({ state: 'failed' }), cursor), 'cursor');
  for (const bad of ['', 'AAAA', 'not base64!', `${cursor}=`, cursor.slice(0, 11)]) fails(() => messagePageToken(q, bad), 'cursor');
});

test('suppression cursors round-trip an address and refuse anything else', () => {
  for (const address of ['a@b.test', 'ünï+côdé@example.org']) assert.equal(decodeSuppressionCursor(encodeSuppressionCursor(address)), address);
  for (const bad of ['', '!!', Buffer.from('no at sign').toString('base64url'), `${encodeSuppressionCursor('a@b.test')}==`]) fails(() => decodeSuppressionCursor(bad), 'cursor');
});
