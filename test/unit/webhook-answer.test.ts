import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideAnswer, parseRetryAfter, type AnswerDecision, type ReceiverAnswer } from '../../src/webhooks/answer';
import { MAX_RETRY_AFTER_MS } from '../../src/webhooks/schedule';

const NOW = Date.parse('2026-12-02T10:00:00Z');

test("what a receiver's answer means", () => {
  const cases: [ReceiverAnswer, AnswerDecision['action'], number | null][] = [
    [{ status: 200 }, 'delivered', null],
    [{ status: 201 }, 'delivered', null],
    [{ status: 204 }, 'delivered', null],
    [{ status: 299 }, 'delivered', null],
    [{ status: 410 }, 'disable', null],
    [{ status: 503, retryAfter: '120' }, 'retry', 120_000],
    [{ status: 429, retryAfter: '30' }, 'retry', 30_000],
    [{ status: 503 }, 'retry', null],
    [{ status: 429, retryAfter: 'soon' }, 'retry', null],
    [{ status: 503, retryAfter: 'Wed, 02 Dec 2026 10:05:00 GMT' }, 'retry', 5 * 60_000],
    // Retry-After only counts on 429 and 503
    [{ status: 500, retryAfter: '120' }, 'retry', null],
    [{ status: 404 }, 'retry', null],
    [{ status: 400 }, 'retry', null],
    [{ status: 401 }, 'retry', null],
    [{ status: 301 }, 'retry', null],
    [{ status: 302 }, 'retry', null],
    [{ status: 100 }, 'retry', null],
    [{ status: null, error: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9' }, 'retry', null],
    [{ status: null, error: 'no complete answer within 15 s' }, 'retry', null],
  ];
  for (const [answer, action, retryAfterMs] of cases) {
    const d = decideAnswer(answer, NOW);
    assert.equal(d.action, action, JSON.stringify(answer));
    if (d.action === 'retry') assert.equal(d.retryAfterMs, retryAfterMs, JSON.stringify(answer));
    if (d.action !== 'delivered') assert.ok((d as { reason: string }).reason.length > 0);
  }
});

test('Retry-After: seconds or an HTTP date, bounded to the longest step', () => {
  const cases: [string | null | undefined, number | null][] = [
    [null, null],
    [undefined, null],
    ['', null],
    ['0', 0],
    ['1', 1000],
    [' 60 ', 60_000],
    ['86400', MAX_RETRY_AFTER_MS],
    ['999999999', MAX_RETRY_AFTER_MS],
    ['-5', null],
    ['1.5', null],
    ['Wed, 02 Dec 2026 10:00:30 GMT', 30_000],
    ['Wed, 02 Dec 2026 09:00:00 GMT', 0],
    ['Fri, 01 Jan 2100 00:00:00 GMT', MAX_RETRY_AFTER_MS],
    ['tomorrow', null],
  ];
  for (const [value, expected] of cases) assert.equal(parseRetryAfter(value, NOW), expected, JSON.stringify(value));
});
