// Reading recorded workflow histories: event counts (cost per message) and the time between
// events (where a message's time goes). Event times are the server's clock, which on the bench
// machine is the same clock as the bench's Date.now() and the sink's receivedAt.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { LOCAL_ACTIVITY_MARKER } from '../src/delivery/attempt-events';
import { sleep } from './measure';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const ET = temporal.api.enums.v1.EventType;

export function eventMs(e: HistoryEvent | undefined): number {
  const t = e?.eventTime;
  return Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
}

/** EVENT_TYPE_WORKFLOW_TASK_COMPLETED -> WorkflowTaskCompleted */
function eventName(e: HistoryEvent): string {
  const raw = ET[e.eventType ?? 0] ?? String(e.eventType);
  return raw
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
}

/** The workflow's events; none when no such workflow exists (e.g. no reputation workflow for an address). */
export async function fetchEvents(client: Client, workflowId: string): Promise<HistoryEvent[]> {
  try {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    return history.events ?? [];
  } catch (err) {
    const e = err as { code?: number; name?: string };
    if (e.code === 5 || e.name === 'WorkflowNotFoundError') return [];
    throw err;
  }
}

/**
 * The history of a workflow that keeps running (a reputation workflow) once it has handled
 * everything it was sent: the length is stable and the last event ends a workflow task.
 */
export async function settledEvents(client: Client, workflowId: string, timeoutMs = 15_000): Promise<HistoryEvent[]> {
  const until = Date.now() + timeoutMs;
  let last: HistoryEvent[] = [];
  for (;;) {
    const events = await fetchEvents(client, workflowId);
    const tail = events[events.length - 1];
    const quiet = !tail || ['TimerStarted', 'WorkflowTaskCompleted', 'WorkflowExecutionCompleted'].includes(eventName(tail));
    if (quiet && events.length === last.length) return events;
    if (Date.now() > until) return events;
    last = events;
    await sleep(300);
  }
}

export interface EventCounts {
  events: number;
  workflowTasks: number;
  activities: number;
  /** Local activities that completed (their markers; a failed local run that was retried is not counted). */
  localActivities: number;
  timers: number;
  signals: number;
  byType: Record<string, number>;
}

export function countEvents(events: HistoryEvent[]): EventCounts {
  const byType: Record<string, number> = {};
  for (const e of events) {
    const n = eventName(e);
    byType[n] = (byType[n] ?? 0) + 1;
  }
  return {
    events: events.length,
    workflowTasks: byType.WorkflowTaskCompleted ?? 0,
    activities: byType.ActivityTaskScheduled ?? 0,
    localActivities: events.filter((e) => e.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER && !e.markerRecordedEventAttributes.failure).length,
    timers: byType.TimerStarted ?? 0,
    signals: byType.WorkflowExecutionSignaled ?? 0,
    byType,
  };
}

/**
 * Splits a workflow's wall time (first to last event) into labelled gaps: each gap between two
 * consecutive events is attributed to what the later event ends (a wait for a worker, an
 * activity's run, a workflow task's run, a timer). Sums per label.
 */
export function timeByPhase(events: HistoryEvent[]): Map<string, number> {
  const activityNames = new Map<string, string>();
  for (const e of events) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) activityNames.set(String(e.eventId), name);
  }
  const activityOf = (e: HistoryEvent): string => {
    const id =
      e.activityTaskStartedEventAttributes?.scheduledEventId ??
      e.activityTaskCompletedEventAttributes?.scheduledEventId ??
      e.activityTaskFailedEventAttributes?.scheduledEventId ??
      e.activityTaskTimedOutEventAttributes?.scheduledEventId;
    return activityNames.get(String(id)) ?? 'activity';
  };
  const out = new Map<string, number>();
  let prev = eventMs(events[0]);
  for (const e of events.slice(1)) {
    const t = eventMs(e);
    const gap = Math.max(0, t - prev);
    prev = Math.max(prev, t);
    let label: string;
    switch (eventName(e)) {
      case 'WorkflowTaskStarted':
        label = 'workflow task: queued until a worker took it';
        break;
      case 'WorkflowTaskCompleted':
        label = 'workflow task: run on the worker';
        break;
      case 'ActivityTaskStarted':
        label = `${activityOf(e)}: queued until a worker took it`;
        break;
      case 'ActivityTaskCompleted':
      case 'ActivityTaskFailed':
      case 'ActivityTaskTimedOut':
        label = `${activityOf(e)}: run`;
        break;
      case 'TimerFired':
        label = 'timer';
        break;
      default:
        label = 'server bookkeeping';
    }
    out.set(label, (out.get(label) ?? 0) + gap);
  }
  return out;
}

/**
 * When the first run of an activity type started (ActivityTaskStarted) and completed
 * (ActivityTaskCompleted); null for what is not in the history.
 */
export function activitySpanMs(events: HistoryEvent[], activity: string): { start: number | null; end: number | null } {
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity);
  if (!scheduled) return { start: null, end: null };
  const id = String(scheduled.eventId);
  const started = events.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === id);
  const done = events.find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === id);
  return { start: started ? eventMs(started) : null, end: done ? eventMs(done) : null };
}
