// Auto-replies (RFC 3834, and what vacation programs and Exchange do without it): out-of-office
// and vacation answers, which are not bounces. Checked only after the report structures and the
// bounce shapes, because MTAs mark their DSNs Auto-Submitted too (RFC 3464 section 2, RFC 3834
// section 5). Pure.
import { fieldValue } from './parse-fields';
import type { ReceivedMail } from './parse-mime';

const AUTO_REPLY_SUBJECT = new RegExp(
  [
    'out of (?:the )?office', 'automatic reply', 'auto(?:matic)?[- ]?(?:reply|response|antwort)', 'autoreply', 'vacation',
    'abwesenheitsnotiz', 'abwesend', 'absence', 'réponse automatique', 'respuesta automática', 'risposta automatica',
    'fuori sede', 'on leave', 'away from (?:the|my) office', 'ooo\\b', '^auto:',
  ].join('|'),
  'i',
);

/** Why the mail is an auto-reply by its headers, or null (RFC 3834 section 5, and common practice). */
export function autoReplyHeader(mail: ReceivedMail): string | null {
  const submitted = (fieldValue(mail.headers, 'auto-submitted') ?? '').trim().toLowerCase();
  if (submitted === 'auto-replied' || submitted.startsWith('auto-replied')) return 'Auto-Submitted: auto-replied';
  if (fieldValue(mail.headers, 'x-autoreply') !== null) return 'X-Autoreply header';
  if (fieldValue(mail.headers, 'x-autorespond') !== null) return 'X-Autorespond header';
  if (/^auto[_-]reply$/i.test((fieldValue(mail.headers, 'precedence') ?? '').trim())) return 'Precedence: auto_reply';
  if (/\bOOF\b|\bAutoReply\b/i.test(fieldValue(mail.headers, 'x-auto-response-suppress') ?? '') && AUTO_REPLY_SUBJECT.test(mail.subject)) return 'Exchange automatic reply';
  return null;
}

/** Why the subject says auto-reply, or null. */
export function autoReplySubject(mail: ReceivedMail): string | null {
  return AUTO_REPLY_SUBJECT.test(mail.subject) ? 'auto-reply subject' : null;
}

/** The Message-ID the auto-reply answers (In-Reply-To, else the last References id). */
export function answeredMessageId(mail: ReceivedMail): string | null {
  const inReplyTo = fieldValue(mail.headers, 'in-reply-to');
  const refs = fieldValue(mail.headers, 'references');
  const pick = (v: string | null, last: boolean): string | null => {
    const ids = (v ?? '').match(/<[^<>\s]{1,250}@[^<>\s]{1,250}>/g) ?? [];
    return (last ? ids[ids.length - 1] : ids[0]) ?? null;
  };
  return pick(inReplyTo, false) ?? pick(refs, true);
}
