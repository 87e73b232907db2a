// What one attempt's replies settle, decided once for both sides of the attempt's contract: the
// send activity (which records the final state with the attempt log, and tells reputation
// workflows the sends that ended) and the delivery workflow (which moves each recipient on).
// Pure: imported by workflow code. README "Behaviour" states the rules.
import type { AttemptProgress, AttemptReply, ClassifiedReply, RecipientState } from './contract';
import { finalMessageState } from './states';

/** Where a reply takes its recipient: delivered and hard-bounced recipients are closed, soft ones retry. */
export function recipientStateAfter(reply: Pick<ClassifiedReply, 'kind'>): Extract<RecipientState, 'delivered' | 'bounced' | 'retrying'> {
  switch (reply.kind) {
    case 'delivered':
      return 'delivered';
    case 'hard':
      return 'bounced';
    case 'soft':
      return 'retrying';
  }
}

export interface AttemptSettlement {
  /** Each attempted recipient's state after the attempt. */
  recipients: { address: string; state: ReturnType<typeof recipientStateAfter> }[];
  /**
   * The message's final state when this attempt closed its last open recipients (none open
   * elsewhere and none of these retrying), else null: the workflow goes on.
   */
  finalState: ReturnType<typeof finalMessageState> | null;
  /**
   * The replies whose sends this attempt ended, which reputation workflows hear now: deliveries
   * and hard bounces. A soft bounce ends nothing (the send is still retrying and counts nothing
   * yet); an expiry is reported when the workflow records it.
   */
  ended: AttemptReply[];
}

export function settleAttempt(progress: AttemptProgress, replies: AttemptReply[]): AttemptSettlement {
  const recipients = replies.map((r) => ({ address: r.address, state: recipientStateAfter(r) }));
  const closesMessage = !progress.openElsewhere && recipients.every((r) => r.state !== 'retrying');
  const delivered = progress.deliveredBefore + recipients.filter((r) => r.state === 'delivered').length;
  return {
    recipients,
    finalState: closesMessage ? finalMessageState(delivered, progress.recipientsTotal) : null,
    ended: replies.filter((r) => r.kind !== 'soft'),
  };
}
