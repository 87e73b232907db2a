// Confirming an SNS subscription (README "Late outcomes", SES): SNS sends a signed
// SubscriptionConfirmation whose SubscribeURL must be visited once. The message is verified and
// its topic pinned before this runs; the URL is still only fetched on an SNS host, so a request
// Rebound makes never goes where a sender chose. With REBOUND_SNS_CERT_FILE set, the signing key
// is the deployment's own (the tests' local certificate), whose holder is trusted with the URL
// too: any http(s) URL is then fetched.
import { ServiceUnavailableError } from '../../errors';
import { isSnsUrl } from './sns-signature';
import { SignatureRejected } from './verification';

const CONFIRM_TIMEOUT_MS = 10_000;

export async function confirmSubscription(subscribeUrl: string, opts: { anyHost: boolean }): Promise<void> {
  if (!opts.anyHost && !isSnsUrl(subscribeUrl)) throw new SignatureRejected('SubscribeURL is not an https URL on an sns.<region>.amazonaws.com host');
  if (!/^https?:\/\//i.test(subscribeUrl)) throw new SignatureRejected('SubscribeURL is not an http(s) URL');
  let res: Response;
  try {
    res = await fetch(subscribeUrl, { redirect: 'error', signal: AbortSignal.timeout(CONFIRM_TIMEOUT_MS) });
    // The answer (a small XML document) is not needed, only its status.
    await res.body?.cancel();
  } catch (err) {
    throw new ServiceUnavailableError(`confirming the SNS subscription failed (${(err as Error).message}); SNS retries it, or request confirmation again in the SNS console`, err);
  }
  if (!res.ok) throw new ServiceUnavailableError(`confirming the SNS subscription failed: SubscribeURL answered HTTP ${res.status}; SNS retries it, or request confirmation again in the SNS console`);
}
