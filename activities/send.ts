// The send activity: one SMTP transaction for a message's pending recipients.
import { ApplicationFailure, log } from '@temporalio/activity';
import type { Pool } from 'pg';
import { acceptedRecipients, recordAttempt } from '../src/db/attempts';
import { loadMessageForSend } from '../src/db/messages';
import { classifyReply } from '../src/policy/classify';
import { sendRaw } from '../src/smtp/send-raw';
import type { SmtpTransport } from '../src/smtp/transport';
import type { AttemptReply, SendAttemptInput, SendAttemptResult } from '../src/types';

export interface SendDeps {
  pool: Pool;
  transport: SmtpTransport;
}

export function createSendActivities({ pool, transport }: SendDeps) {
  return {
    async sendAttempt(input: SendAttemptInput): Promise<SendAttemptResult> {
      const message = await loadMessageForSend(pool, input.messageId);
      if (!message) {
        throw ApplicationFailure.nonRetryable(
          `message ${input.messageId} is not in the database: it was never stored or was deleted; start it again with the client`,
          'MessageNotFound',
        );
      }
      // A run of this activity after a crash must not resend what the server already took.
      const already = await acceptedRecipients(pool, input.messageId, input.recipients);
      const acceptedBefore = new Map(already.map((a) => [a.recipient, a]));
      const toSend = input.recipients.filter((r) => !acceptedBefore.has(r));

      const fresh = toSend.length > 0 ? await sendRaw(transport, { from: message.mailFrom, recipients: toSend, raw: message.raw }) : [];
      const freshByAddress = new Map(fresh.map((f) => [f.address, f.reply]));
      const replies: AttemptReply[] = input.recipients.map((address) => {
        const before = acceptedBefore.get(address);
        if (before) {
          return { address, alreadyAccepted: true, ...classifyReply({ code: before.code, enhanced: before.enhanced, text: before.text }) };
        }
        return { address, ...classifyReply(freshByAddress.get(address)!) };
      });

      await recordAttempt(pool, input.messageId, input.attempt, replies);
      log.info('attempt finished', {
        messageId: input.messageId,
        attempt: input.attempt,
        outcomes: replies.map((r) => `${r.kind}:${r.category}`),
        skippedAlreadyAccepted: already.length,
      });
      return { replies };
    },
  };
}
