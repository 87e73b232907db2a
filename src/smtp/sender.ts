// What the send activity hands a message to: one SMTP attempt for some recipients, one raw reply
// each. Two kinds implement it: the relay (every message to REBOUND_SMTP_URL) and direct
// delivery (each recipient domain's MX hosts, README "Direct delivery"); the worker picks one
// from REBOUND_DELIVERY. Both go through the sites' gate (README "Traffic shaping"): in relay
// mode the relay is one site, named by its host.
import { OPEN_SITES, type SiteGate } from '../sites/gate';
import { normaliseHost } from '../sites/policy';
import { recipientsByDomain } from './direct/sender';
import { sendRaw, type RawSend, type RecipientRawReply } from './send-raw';
import type { SmtpTransport } from './transport';

export interface Sender {
  /** Replies for every recipient; throws only TransactionAbandoned (the data gate refused). */
  send(message: RawSend): Promise<RecipientRawReply[]>;
  /** Closes idle connections now and the others as their transactions end. */
  close(): void;
  /** The sites' gate it asks, for its statistics (what shaping costs, README "Performance"). */
  sites?: SiteGate;
}

/** The relay's site: REBOUND_SMTP_URL's host, as written (no provider grouping: the relay is the receiver Rebound talks to). */
export function relaySite(smtpUrl: string): string {
  return normaliseHost(new URL(smtpUrl).hostname);
}

/**
 * Every message through one relay, in one transaction, for the recipients whose domain is not
 * held back: the relay's site suspended or throttled holds them all, a domain suspended by a
 * domain-scope rule only its own. The relay's replies are checked against the rules per domain.
 */
export function relaySender(transport: SmtpTransport, shaping?: { gate: SiteGate; site: string }): Sender {
  const gate = shaping?.gate ?? OPEN_SITES;
  const site = shaping?.site ?? 'relay';
  const named = shaping ? { site } : {};
  const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  return {
    sites: gate,
    async send(message) {
      const byDomain = recipientsByDomain(message.recipients);
      const held = await gate.admit(site, [...byDomain.keys()]);
      const going = message.recipients.filter((a) => !held.has(domainOf(a)));
      const sent = going.length > 0 ? await sendRaw(transport, { ...message, recipients: going }) : [];
      for (const [domain] of byDomain) {
        const replies = sent.filter((r) => domainOf(r.address) === domain).map((r) => r.reply);
        if (replies.length > 0) await gate.heard(site, domain, replies);
      }
      const replyOf = new Map(sent.map((r) => [r.address, r.reply]));
      return message.recipients.map((address) => ({ address, reply: held.get(domainOf(address)) ?? replyOf.get(address)!, ...named }));
    },
    close: () => {
      transport.close();
      gate.close();
    },
  };
}
