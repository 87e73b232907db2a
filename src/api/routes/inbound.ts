// The providers' event webhooks on the HTTP API (README "Late outcomes", provider webhooks):
// POST /v1/inbound/{ses,sendgrid,mailgun,postmark}. Not behind Rebound's API keys: a provider
// cannot send one; each request is authenticated by its provider's signature (or, for Postmark,
// basic auth) before anything is stored. A 200 is answered only once the events are in
// PostgreSQL; when they cannot be stored, 503, and the provider retries. Counted per remote
// address, not per key (INBOUND_RATE_LIMIT_PER_MINUTE).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import type { ReboundConfig } from '../../config';
import type { ProviderName } from '../../bounces/contract';
import { storeProviderEvents } from '../../bounces/inbox';
import { providerIntakes, type ProviderIntake } from '../../bounces/providers/intake';
import { MAX_EVENTS_PER_REQUEST, PayloadError, TooManyEventsError } from '../../bounces/providers/payload';
import { SignatureRejected } from '../../bounces/providers/verification';
import { problemSchema } from '../contract';
import { handleError, Problem, sendProblem } from '../problems';
import { RATE_LIMIT_WINDOW_MS } from '../rate-limit';

/**
 * Requests a minute from one address. Providers post from many addresses, SES one request per
 * event: this is far above a provider's pace for one address, and only stops a single host
 * flooding the signature checks. Behind a reverse proxy every request has the proxy's address.
 */
export const INBOUND_RATE_LIMIT_PER_MINUTE = 6000;

export interface InboundAnswer {
  stored: number;
  duplicates: number;
  ignored: number;
  subscriptionConfirmed?: boolean;
}

interface Route {
  provider: ProviderName;
  name: string;
  /** The settings that turn it on, for the 404 when they are not set. */
  settings: string;
  bodyLimit: number;
  description: string;
}

const MB = 1024 * 1024;

const ROUTES: Route[] = [
  {
    provider: 'ses',
    name: 'Amazon SES (SNS)',
    settings: 'REBOUND_SES_TOPIC_ARNS',
    bodyLimit: MB,
    description:
      'An SNS HTTPS subscription to the topic SES publishes bounces, complaints and delivery delays to. The message must be signed with SignatureVersion 2 by a topic in REBOUND_SES_TOPIC_ARNS; a SubscriptionConfirmation is confirmed. Raw message delivery must be off.',
  },
  {
    provider: 'sendgrid',
    name: 'SendGrid',
    settings: 'REBOUND_SENDGRID_VERIFICATION_KEY',
    bodyLimit: 5 * MB,
    description: `The Signed Event Webhook: a JSON array of events (at most ${MAX_EVENTS_PER_REQUEST}), ECDSA-signed; verified with REBOUND_SENDGRID_VERIFICATION_KEY.`,
  },
  {
    provider: 'mailgun',
    name: 'Mailgun',
    settings: 'REBOUND_MAILGUN_SIGNING_KEY',
    bodyLimit: MB,
    description: 'A Mailgun webhook (failed, complained; others are ignored): JSON {signature, event-data}, HMAC-signed with REBOUND_MAILGUN_SIGNING_KEY; each signature is taken for one event only.',
  },
  {
    provider: 'postmark',
    name: 'Postmark',
    settings: 'REBOUND_POSTMARK_WEBHOOK_AUTH',
    bodyLimit: 2 * MB,
    description: 'A Postmark webhook (Bounce, SpamComplaint; others are ignored), authenticated by the basic-auth user and password of REBOUND_POSTMARK_WEBHOOK_AUTH set in the webhook URL.',
  },
];

const answerSchema = {
  type: 'object',
  required: ['stored', 'duplicates', 'ignored'],
  properties: {
    stored: { type: 'integer', description: 'events newly stored' },
    duplicates: { type: 'integer', description: 'events already stored before (a provider redelivering): stored once' },
    ignored: { type: 'integer', description: 'records of no interest (deliveries, opens, clicks, ...)' },
    subscriptionConfirmed: { type: 'boolean', description: 'SES: an SNS SubscriptionConfirmation was confirmed' },
  },
} as const;

function problems(route: Route): Record<string, unknown> {
  const described = (description: string) => ({ description, content: { 'application/problem+json': { schema: problemSchema } } });
  return {
    400: described('not the provider\'s JSON: the errors name the field'),
    401: described('the signature or credentials do not verify'),
    404: described(`the webhook is not configured (${route.settings})`),
    413: described(`body larger than ${route.bodyLimit / MB} MB or more than ${MAX_EVENTS_PER_REQUEST} events`),
    415: described('not JSON'),
    429: described(`more than ${INBOUND_RATE_LIMIT_PER_MINUTE} requests a minute from one address`),
    503: described('PostgreSQL (or, for SES, the signing certificate or the subscription confirmation) unavailable: the provider retries'),
  };
}

/** The problem a refusal of the intake is, or null for errors handled as everywhere else. */
function intakeProblem(err: unknown, route: Route, request: FastifyRequest): Problem | null {
  if (err instanceof SignatureRejected) {
    // At info: a refused request is not Rebound's failure, but someone setting up the webhook needs to see why.
    request.log.info({ provider: route.provider, reason: err.reason }, `${route.name} webhook refused: ${err.reason}`);
    return new Problem(401, 'bad-signature', `the ${route.name} webhook request was refused: ${err.reason}`);
  }
  if (err instanceof PayloadError) {
    return new Problem(400, 'malformed-request', `the ${route.name} webhook body is not what ${route.name} sends: ${err.message}`, [{ field: err.field, message: err.reason }]);
  }
  if (err instanceof TooManyEventsError) return new Problem(413, 'payload-too-large', err.message);
  const code = (err as Partial<FastifyError>).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new Problem(413, 'payload-too-large', `the ${route.name} webhook body is larger than ${route.bodyLimit / MB} MB`);
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new Problem(415, 'unsupported-media-type', `the ${route.name} webhook body must be JSON (application/json${route.provider === 'ses' ? ' or text/plain, as SNS sends it' : ''})`);
  return null;
}

export function registerInboundRoutes(app: FastifyInstance, deps: { pool: Pool; config: Pick<ReboundConfig, 'providers'> }): void {
  // Built now, so that a key that cannot be used stops the API at start, naming the setting.
  const intakes = providerIntakes(deps.config.providers);
  for (const route of ROUTES) registerInboundRoute(app, deps.pool, route, intakes[route.provider] ?? null);
}

function registerInboundRoute(app: FastifyInstance, pool: Pool, route: Route, intake: ProviderIntake | null): void {
  const notConfigured = () => new Problem(404, 'not-found', `the ${route.name} webhook is not configured; set ${route.settings} (README "Late outcomes")`);
  // A plugin of its own: the raw-body parsers and the error answers belong to this route only.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // SNS posts its JSON as text/plain; every provider's body is kept raw, as its signature covers bytes.
    scope.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'buffer', bodyLimit: route.bodyLimit }, (_request, body, done) => done(null, body));
    scope.setErrorHandler((err, request, reply) => {
      const problem = intakeProblem(err, route, request);
      return problem ? sendProblem(reply, problem) : handleError(err, request, reply);
    });
    scope.post(
      `/v1/inbound/${route.provider}`,
      {
        bodyLimit: route.bodyLimit,
        onRequest: async () => {
          if (!intake) throw notConfigured();
        },
        // After the rate limit (an onRequest hook) counts the request, before the body is read.
        preParsing: async (request: FastifyRequest, _reply: FastifyReply, payload) => {
          intake?.authenticate?.(request.headers);
          return payload;
        },
        config: {
          rateLimit: {
            max: INBOUND_RATE_LIMIT_PER_MINUTE,
            timeWindow: RATE_LIMIT_WINDOW_MS,
            allowList: () => false,
            keyGenerator: (request: FastifyRequest) => `inbound:${request.ip}`,
            errorResponseBuilder: (request: FastifyRequest, context: { max: number; ttl: number }) =>
              new Problem(429, 'rate-limited', `more than ${context.max} ${route.name} webhook requests a minute from ${request.ip}; wait ${Math.ceil(context.ttl / 1000)} s (Retry-After)`),
          },
        },
        schema: {
          summary: `Receive ${route.name} events`,
          description: `${route.description} Answers 200 once the events are stored; the same event sent again is stored once. No API key: the provider's signature authenticates.`,
          tags: ['inbound'],
          security: [],
          consumes: route.provider === 'ses' ? ['application/json', 'text/plain'] : ['application/json'],
          body: route.provider === 'sendgrid' ? { type: 'array', items: { type: 'object' }, description: 'SendGrid events' } : { type: 'object', description: `the ${route.name} webhook JSON` },
          response: { 200: answerSchema, ...problems(route) },
        },
      },
      async (request: FastifyRequest, reply: FastifyReply): Promise<InboundAnswer> => {
        if (!intake) throw notConfigured();
        if (!Buffer.isBuffer(request.body)) throw new PayloadError('body', 'is empty');
        const result = await intake.receive({ headers: request.headers, rawBody: request.body });
        const { stored, duplicates } = await storeProviderEvents(pool, result.events);
        request.log.info({ provider: route.provider, stored, duplicates, ignored: result.ignored, subscriptionConfirmed: result.subscriptionConfirmed }, `${route.name} webhook events stored`);
        reply.code(200);
        return { stored, duplicates, ignored: result.ignored, ...(result.subscriptionConfirmed ? { subscriptionConfirmed: true } : {}) };
      },
    );
  });
}
