// One long-lived workflow per normalised address (README "Reputation and suppression"), id `address:<address>` (`address:h:<HMAC>` with REBOUND_ADDRESS_ID_KEY, README "Security"). It hears the
// outcome of every send to the address, suppresses the address after N consecutive
// soft-bouncing sends or at once after a suppressing hard bounce, lifts the suppression itself
// when it expires, and takes operator suppress/lift updates. It is the only automatic writer of
// its address's suppression row, so its state and the table cannot drift apart.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { applyLegacyOutcome, applyOutcome, initialReputationState, isActive, lift, manualSuppression, suppress, suppressionStatus, validSuppressionDays, type ReputationEffect, type ReputationWorkflowSettings, type ReputationState } from '../src/reputation/policy';
import type { ReputationEventType, ReputationSignal } from '../src/reputation/contract';
import { deliveredSignal, hardBouncedSignal, liftUpdate, reputationQuery, softBouncedSignal, suppressUpdate, type LiftRequest, type ReputationView, type SuppressRequest } from '../src/reputation/contract';

type Activities = ReturnType<typeof createActivities>;

// Regular activities for the same reason as in delivery.ts.
const { loadSuppression, writeSuppression, liftSuppression } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Outcomes are judged by the blame rules (README "Reputation and suppression"). Histories made
 * before them replay with the rules they were recorded with; a running workflow switches at
 * its first outcome after the upgrade.
 */
export const SCOPED_BLAME_PATCH = 'scoped-blame';

type Operation =
  | { kind: 'outcome'; event: ReputationEventType; signal: ReputationSignal }
  | { kind: 'suppress'; request: SuppressRequest; id: number }
  | { kind: 'lift'; request: LiftRequest; id: number };

export interface ReputationInput {
  address: string;
  settings: ReputationWorkflowSettings;
  /** State carried across continue-as-new; absent on the first run. */
  carried?: { state: ReputationState; queue: Operation[] };
  /**
   * The starter read the suppression table for this address just before starting (the send
   * activity does before every attempt) and found no active row: nothing to load.
   */
  noActiveSuppression?: boolean;
}

export async function reputationWorkflow(input: ReputationInput): Promise<ReputationView> {
  const { address, settings } = input;
  const state: ReputationState = input.carried?.state ?? initialReputationState(Date.now());
  const queue: Operation[] = input.carried?.queue ?? [];
  const finished = new Set<number>();
  let nextOperationId = 0;

  const view = (): ReputationView => {
    const active = isActive(state.suppression, Date.now()) ? state.suppression : null;
    return {
      ...suppressionStatus(address, active),
      consecutiveSoftBounces: state.consecutiveSoftBounces,
      threshold: settings.softBounceThreshold,
      totals: { ...state.totals },
      recent: [...state.recent],
    };
  };

  // Handlers only enqueue: the main loop applies operations one at a time, in arrival order,
  // together with their database writes.
  const onOutcome = (event: ReputationEventType) => (signal: ReputationSignal) => {
    queue.push({ kind: 'outcome', event, signal });
  };
  setHandler(deliveredSignal, onOutcome('delivered'));
  setHandler(softBouncedSignal, onOutcome('softBounced'));
  setHandler(hardBouncedSignal, onOutcome('hardBounced'));
  setHandler(reputationQuery, view);
  const enqueueAndWait = async (op: Omit<Extract<Operation, { id: number }>, 'id'>): Promise<ReputationView> => {
    const id = nextOperationId++;
    queue.push({ ...op, id } as Operation);
    await condition(() => finished.has(id));
    finished.delete(id);
    return view();
  };
  setHandler(suppressUpdate, (request) => enqueueAndWait({ kind: 'suppress', request }), {
    validator: (request) => {
      if (request.days !== undefined && request.days !== null && !validSuppressionDays(request.days)) {
        throw new RangeError(`days must be from 1 to 3650, or null for no expiry; got ${request.days}`);
      }
    },
  });
  setHandler(liftUpdate, (request) => enqueueAndWait({ kind: 'lift', request }));

  const persist = async (effect: ReputationEffect) => {
    if (effect?.type === 'suppress') await writeSuppression({ address, ...effect.suppression });
    else if (effect?.type === 'lift') await liftSuppression({ address, at: effect.at, actor: effect.actor, reason: effect.reason });
  };

  const apply = async (op: Operation) => {
    const nowMs = Date.now();
    if (op.kind === 'outcome') {
      const rules = patched(SCOPED_BLAME_PATCH) ? applyOutcome : applyLegacyOutcome;
      await persist(rules(state, op.event, op.signal, settings, nowMs));
    } else if (op.kind === 'suppress') {
      const days = op.request.days === undefined ? settings.suppressionDays : op.request.days;
      await persist(suppress(state, manualSuppression(op.request, days, nowMs)));
      finished.add(op.id);
    } else {
      const reason = op.request.reason ?? 'manual';
      // Also lift a row this workflow does not know of (written by an import).
      await persist(lift(state, reason, op.request.actor ?? null, nowMs) ?? { type: 'lift', reason, actor: op.request.actor ?? null, at: new Date(nowMs).toISOString() });
      finished.add(op.id);
    }
  };

  if (!input.carried && !input.noActiveSuppression) {
    // A suppression added while no workflow ran for this address (operator, import) is known here.
    const existing = await loadSuppression(address);
    if (existing && isActive(existing, Date.now())) state.suppression = existing;
  }

  for (;;) {
    while (queue.length > 0) await apply(queue.shift()!);

    const nowMs = Date.now();
    if (state.suppression?.until && Date.parse(state.suppression.until) <= nowMs) {
      await persist(lift(state, 'expired', null, nowMs));
      continue;
    }

    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength >= settings.continueAsNewAfterEvents) {
      await condition(allHandlersFinished);
      if (queue.length === 0) {
        await continueAsNew<typeof reputationWorkflow>({ address, settings, carried: { state, queue } });
      }
      continue;
    }

    const idleLeftMs = state.lastEventAtMs + settings.idleCloseDays * DAY_MS - nowMs;
    if (!state.suppression && idleLeftMs <= 0) {
      await condition(allHandlersFinished);
      if (queue.length === 0) return view();
      continue;
    }
    const wakeMs = state.suppression
      ? state.suppression.until === null
        ? undefined
        : Date.parse(state.suppression.until) - nowMs
      : idleLeftMs;
    if (wakeMs === undefined) await condition(() => queue.length > 0);
    else await condition(() => queue.length > 0, Math.max(1, wakeMs));
  }
}
