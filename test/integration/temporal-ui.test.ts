// What an operator sees of a delivery in the Temporal UI, on the real dev server: the run's
// summary in the list, and activity and timer names in its timeline (README "Inspecting and
// steering runs in the Temporal UI"). The UI reads exactly these fields of the history.
import assert from 'node:assert/strict';
import { localActivityType } from '../../src/delivery/attempt-events';
import { after, before, test } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { startDevStack, type DevStack } from '../helpers/dev-stack';
import { testMessage, uid } from '../helpers/stack';

let stack: DevStack;
before(async () => {
  stack = await startDevStack();
});
after(async () => {
  await stack?.teardown();
});

const text = (p: Payload | null | undefined): string | undefined => (p ? defaultPayloadConverter.fromPayload<string>(p) : undefined);

test('a delivery names its run, its attempts and its waits; never the subject or an address', async () => {
  const tag = uid();
  const to = [`soft-1+${tag}@example.test`, `ok+${tag}@example.org`];
  const { messageId } = await stack.rebound.send(testMessage(to, { subject: 'Secret subject', delays: ['1s'], deadline: '1m' }));
  const final = await stack.rebound.result(messageId);
  assert.equal(final.state, 'delivered');

  const handle = stack.rebound.handle(messageId);
  const description = await handle.describe();
  assert.equal(await description.staticSummary(), '2 recipients · profile custom · example.org, example.test');

  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  // Attempts are local activities: their markers carry the summary the UI shows.
  const activities = events
    .filter((e) => e.activityTaskScheduledEventAttributes || localActivityType(e))
    .map((e) => [e.activityTaskScheduledEventAttributes?.activityType?.name ?? localActivityType(e), text(e.userMetadata?.summary)]);
  assert.deepEqual(activities, [
    ['sendAttempt', 'attempt 1 · 2 recipients'],
    ['sendAttempt', 'attempt 2 · 1 recipient'],
  ]);
  const timers = events.filter((e) => e.timerStartedEventAttributes).map((e) => text(e.userMetadata?.summary));
  assert.equal(timers.length, 1);
  assert.match(timers[0] ?? '', /^wait 1s \(\w[\w ]*\)$/);

  const everything = JSON.stringify([await description.staticSummary(), activities, timers]);
  assert.ok(!everything.includes('Secret subject') && !everything.includes(tag), everything);
});
