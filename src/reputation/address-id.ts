// Reputation workflow ids (README "Security", keyed address ids). Without a key an address's
// workflow is `address:<address>`, which anyone who can list workflows reads, and which the
// SDK puts in every activity log line as workflowId. With REBOUND_ADDRESS_ID_KEY it is
// `address:h:<HMAC-SHA256(key, address)>`: the same address always gives the same id (signal-
// with-start still finds the one workflow), and nobody without the key can tell whose it is or
// test a guessed address. 32 hex digits (128 bits) keep collisions out of reach at any number
// of addresses. Not workflow code: the key never enters a workflow, its input or its history.
import { createHmac } from 'node:crypto';
import { reputationWorkflowId } from './contract';

export const KEYED_ADDRESS_ID_PREFIX = 'address:h:';
const DIGEST_HEX_DIGITS = 32;

/** The id of a normalised address's reputation workflow, keyed when a key is given. */
export function addressWorkflowId(normalisedAddress: string, key: string | null): string {
  if (key === null) return reputationWorkflowId(normalisedAddress);
  const digest = createHmac('sha256', key).update(`rebound-address-id:${normalisedAddress}`, 'utf8').digest('hex');
  return `${KEYED_ADDRESS_ID_PREFIX}${digest.slice(0, DIGEST_HEX_DIGITS)}`;
}
