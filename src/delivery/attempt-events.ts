// Where a delivery's attempts are in its history, in both forms a run may hold (README
// "Performance"): a regular activity (ActivityTaskScheduled, its input in the event) or a local
// activity (a MarkerRecorded event the SDK writes when the workflow task that ran it completes;
// it holds the activity's type and result, not its input). Read by the tests, the bench and
// whoever inspects a history by hand.
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payload = temporal.api.common.v1.IPayload;

/** The marker name the SDK's core gives a local activity's result. */
export const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

export interface AttemptEvent {
  /** The event's server time, ms since the epoch: scheduled (regular) or recorded (local, after it ran). */
  atMs: number;
  local: boolean;
  /** The recipients the attempt carried; null when the payload is encrypted (README "Payload encryption"). */
  recipients: string[] | null;
}

function eventTimeMs(e: HistoryEvent): number {
  const t = e.eventTime;
  return Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
}

/** A plain JSON payload's value; undefined for an encrypted or binary one. */
function jsonOf(p: Payload | null | undefined): unknown {
  if (!p?.data) return undefined;
  const encoding = p.metadata?.encoding ? Buffer.from(p.metadata.encoding).toString('utf8') : '';
  if (encoding !== 'json/plain') return undefined;
  return JSON.parse(Buffer.from(p.data).toString('utf8'));
}

/** The activity type of a local activity marker, from its `data` detail (core's JSON). */
export function localActivityType(e: HistoryEvent): string | null {
  const m = e.markerRecordedEventAttributes;
  if (m?.markerName !== LOCAL_ACTIVITY_MARKER) return null;
  const data = jsonOf(m.details?.data?.payloads?.[0]) as { activity_type?: string; activityType?: string } | undefined;
  return data?.activity_type ?? data?.activityType ?? null;
}

/** The send attempts of a delivery history, in order. */
export function sendAttemptEvents(events: HistoryEvent[]): AttemptEvent[] {
  return events.flatMap((e): AttemptEvent[] => {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'sendAttempt') {
      const input = jsonOf(scheduled.input?.payloads?.[0]) as { recipients: string[] } | undefined;
      return [{ atMs: eventTimeMs(e), local: false, recipients: input?.recipients ?? null }];
    }
    if (localActivityType(e) === 'sendAttempt') {
      // A failed local run (retried) records no result: it is not an attempt of its own.
      if (e.markerRecordedEventAttributes?.failure) return [];
      // The result names every recipient the attempt carried: a reply each, or a suppression.
      const result = jsonOf(e.markerRecordedEventAttributes?.details?.result?.payloads?.[0]) as
        | { replies: { address: string }[]; suppressed: { address: string }[] }
        | undefined;
      const recipients = result ? [...result.suppressed.map((s) => s.address), ...result.replies.map((r) => r.address)] : null;
      return [{ atMs: eventTimeMs(e), local: true, recipients }];
    }
    return [];
  });
}
