// How recipient outcomes add up to a message state (README "Behaviour", states). Pure: used by workflow code and
// by the send activity alike.
import type { MessageState } from './contract';

/** The state of a message none of whose recipients is open any more (and that was not cancelled). */
export function finalMessageState(delivered: number, total: number): MessageState {
  if (delivered === total) return 'delivered';
  return delivered > 0 ? 'partially_delivered' : 'failed';
}
