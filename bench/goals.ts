// The performance goals (README "Performance"), under the names a script reads from
// `npm run bench -- --json`, each with its target and whether this run met it. Pure: computed
// from one mode's headline figures, and the 100,000 sleepers from their own run's file.

export interface GoalInputs {
  deliveredPerSecond: number | null;
  ceilingEmptyPerSecond: number | null;
  ceilingOneActivityPerSecond: number | null;
  cpuMsPerMessage: { server: number | null; worker: number | null } | null;
  halfRateAcceptedP99Ms: number | null;
}

export interface Goal {
  name: string;
  value: number | null;
  /** The bound, and which side of it meets the goal. */
  target: { atLeast: number } | { atMost: number } | { below: number };
  met: boolean | null;
}

const ratio = (a: number | null, b: number | null): number | null => (a !== null && b !== null && b > 0 ? Math.round((a / b) * 100) / 100 : null);

function judge(value: number | null, target: Goal['target']): boolean | null {
  if (value === null) return null;
  if ('atLeast' in target) return value >= target.atLeast;
  if ('atMost' in target) return value <= target.atMost;
  return value < target.below;
}

export function goalFigures(h: GoalInputs) {
  const figures = {
    ratioToOneActivityCeiling: ratio(h.deliveredPerSecond, h.ceilingOneActivityPerSecond),
    ratioToEmptyCeiling: ratio(h.deliveredPerSecond, h.ceilingEmptyPerSecond),
    serverCpuMsPerDelivered: h.cpuMsPerMessage?.server ?? null,
    workerCpuMsPerDelivered: h.cpuMsPerMessage?.worker ?? null,
    acceptedP99MsHalfRate: h.halfRateAcceptedP99Ms,
  };
  const targets: Array<[keyof typeof figures, Goal['target']]> = [
    ['ratioToOneActivityCeiling', { atLeast: 0.9 }],
    // Attempts are local activities (README "Performance"): a delivery should come near a workflow that runs none.
    ['ratioToEmptyCeiling', { atLeast: 0.7 }],
    ['serverCpuMsPerDelivered', { atMost: 14 }],
    ['workerCpuMsPerDelivered', { atMost: 7 }],
    ['acceptedP99MsHalfRate', { below: 250 }],
  ];
  const goals: Goal[] = targets.map(([name, target]) => ({ name, value: figures[name], target, met: judge(figures[name], target) }));
  return { ...figures, goals };
}

/**
 * Worker RSS with 100,000 messages asleep, below 600 MB. Not per mode: the figure comes from the
 * separate `npm run bench:sleeping` run (bench/sleeping-100k.ts), null when it has not been run.
 */
export function sleeping100kGoal(workerRssMb: number | null): Goal {
  const target: Goal['target'] = { below: 600 };
  return { name: 'sleeping100kWorkerRssMb', value: workerRssMb, target, met: judge(workerRssMb, target) };
}
