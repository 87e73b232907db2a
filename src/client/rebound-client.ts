// The client SDK services use to start and follow deliveries. It validates and composes the
// message, stores it in PostgreSQL, and only then starts the workflow with a reference to it.
import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import { loadConfig, type AttemptForm, type ReboundConfig } from '../config';
import { insertMessage, type MessageRow, type StoredMessageInput } from '../delivery/messages';
import { isDatabaseUnavailable } from '../db/outage';
import type { DkimKey, DomainRule } from '../domains/config-file';
import { planSchedules } from '../domains/policy';
import { createPool } from '../db/pool';
import { mergeLateOutcomes } from '../bounces/late';
import { lateOutcomesOf } from '../bounces/store';
import { IdConflictError, ServiceUnavailableError } from '../errors';
import { composeMessage } from '../message/compose';
import { DEFAULT_MAX_BYTES, validateSendRequest, type SendRequest } from '../message/validate';
import { DeliveryAttemptsKey, DeliveryStateKey, RecipientDomainsKey, DELIVERY_WORKFLOW_TYPE, deliveryWorkflowId, type DeliveryInput, type DeliveryStatus, type MessageState, type SchedulePlan, retryNowSignal, statusQuery } from '../delivery/contract';
import { domainOf } from '../message/address';
import { deliverySummary, planProfiles } from '../delivery/summaries';
import { Domains } from './domains';
import { Suppressions } from './suppressions';
import { Reports } from './reports';
import { Sites } from './sites';
import type { SiteDirectory } from '../sites/view';
import { siteDirectory } from '../sites/directory';
import { relaySite } from '../smtp/sender';
import { dataConverterOption } from '../codec/data-converter';

export interface ReboundClientOptions {
  client: Client;
  pool: Pool;
  taskQueue: string;
  maxMessageBytes?: number;
  /** Domain of generated Message-IDs; defaults to the sender's domain. */
  messageIdDomain?: string;
  /** Retry policies per recipient domain, from the configuration file (README "Retry policy per domain"). */
  domains?: DomainRule[];
  /** DKIM signing keys per From domain, from the configuration file (README "DKIM"). */
  dkim?: DkimKey[];
  /** Each site's limits and the sites the configuration names (README "Traffic shaping"); without it, the defaults. */
  sites?: SiteDirectory;
  /** REBOUND_ADDRESS_ID_KEY: reputation workflow ids are keyed hashes of the addresses (README "Security"); the worker's must be the same. */
  addressIdKey?: string | null;
  /** REBOUND_ATTEMPTS: how the deliveries this client starts run their attempts (README "Performance"); local by default. */
  attempts?: AttemptForm;
}

export interface SendReceipt {
  messageId: string;
  workflowId: string;
  /** False when this id was sent before: nothing new was stored or started. */
  created: boolean;
  /** The message's state as stored: `queued` for a new one, the first delivery's for a repeat. */
  state: MessageState;
}

/** The workflow's input: references and schedules, never content or credentials. */
function deliveryInput(messageId: string, recipients: string[], plans: SchedulePlan[], attempts: AttemptForm): DeliveryInput {
  const profiles = new Set(plans.map((p) => p.profile));
  return {
    messageId,
    recipients,
    // Kept for readers of the input that predate plans: the first plan's schedule.
    schedule: plans[0].schedule,
    profile: profiles.size === 1 ? plans[0].profile : 'custom',
    plans,
    ...(attempts === 'activity' ? { attemptAs: 'activity' as const } : {}),
  };
}

export class ReboundClient {
  private readonly owned: { connection?: Connection; pool?: Pool } = {};

  /** The suppression list and address reputation (README "Reputation and suppression"). */
  readonly suppressions: Suppressions;
  /** Health of each recipient domain (README "Domain health"). */
  readonly domains: Domains;
  /** Reports heard after the relay's 250 (README "Late outcomes"). */
  readonly reports: Reports;
  /** Sites: their state, limits, suspensions and queues; an operator's suspend and resume (README "Traffic shaping"). */
  readonly sites: Sites;

  constructor(private readonly opts: ReboundClientOptions) {
    this.suppressions = new Suppressions(opts.client, opts.pool, opts.addressIdKey ?? null);
    this.domains = new Domains(opts.client, opts.pool);
    this.reports = new Reports(opts.pool);
    this.sites = new Sites(opts.pool, opts.sites);
  }

  /** Connects with the configuration from the environment (see `rebound --help`). */
  static async connect(overrides: Partial<ReboundConfig> = {}): Promise<ReboundClient> {
    const config = { ...loadConfig(), ...overrides };
    // Lazy: commands that only read the database (suppressions check, list, export) work while
    // Temporal is down.
    const connection = Connection.lazy({ address: config.temporalAddress });
    const pool = createPool(config.databaseUrl);
    // With REBOUND_PAYLOAD_KEYS, what the client sends Temporal is encrypted (README "Payload encryption").
    const client = new Client({ connection, namespace: config.temporalNamespace, ...dataConverterOption(config.payloadKeys) });
    const rebound = new ReboundClient({ client, pool, taskQueue: config.taskQueue, maxMessageBytes: config.maxMessageBytes, domains: config.domains, dkim: config.dkim, addressIdKey: config.addressIdKey, attempts: config.attempts, sites: siteDirectory(config.shaping, config.delivery === 'relay' ? [relaySite(config.smtpUrl)] : []) });
    rebound.owned.connection = connection;
    rebound.owned.pool = pool;
    return rebound;
  }

  get temporal(): Client {
    return this.opts.client;
  }

  /** The PostgreSQL pool the client stores messages with (the HTTP API shares it). */
  get pool(): Pool {
    return this.opts.pool;
  }

  /** The largest message `send()` accepts, in bytes (the HTTP API sizes its body limit on it). */
  get maxMessageBytes(): number {
    return this.opts.maxMessageBytes ?? DEFAULT_MAX_BYTES;
  }

  /**
   * Validates, composes, stores and starts one message. Invalid input throws a ValidationError
   * naming the field, before anything is stored or started. A repeated id returns the first
   * delivery and never sends twice.
   */
  async send(request: SendRequest): Promise<SendReceipt> {
    const valid = validateSendRequest(request, { maxBytes: this.opts.maxMessageBytes });
    const messageId = valid.id ?? randomUUID();
    // Each recipient's schedule: the message's own fields, then its domain's rule, then the default.
    const plans = planSchedules({ profile: request.profile, delays: request.delays, deadline: request.deadline }, valid.envelopeRecipients, this.opts.domains ?? []);
    const composed = await composeMessage(valid, messageId, { messageIdDomain: this.opts.messageIdDomain, dkim: this.opts.dkim });
    const { row, created } = await this.store(messageId, {
      contentHash: composed.contentHash,
      mailFrom: valid.from.address,
      recipients: valid.envelopeRecipients,
      messageIdHeader: composed.messageIdHeader,
      raw: composed.raw,
      profile: valid.profile,
      schedule: valid.schedule,
      plans,
    });
    if (row.contentHash !== composed.contentHash) {
      throw new IdConflictError(messageId);
    }
    // Start from what is stored: on a repeated id that is the first request's message.
    const input = deliveryInput(messageId, row.recipients, row.plans ?? plans, this.opts.attempts ?? 'local');
    const workflowId = deliveryWorkflowId(messageId);
    try {
      await this.opts.client.workflow.start(DELIVERY_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: this.opts.taskQueue,
        args: [input],
        // A running delivery for this id is returned as it is; a closed one is never rerun.
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        // The Temporal UI's one-line summary of the run: counts, profiles and domains, never the subject.
        staticSummary: deliverySummary(row.recipients.map(domainOf), row.recipients.length, planProfiles(input.plans ?? [])),
        typedSearchAttributes: [
          { key: DeliveryStateKey, value: 'queued' },
          { key: RecipientDomainsKey, value: [...new Set(row.recipients.map(domainOf))].sort() },
          { key: DeliveryAttemptsKey, value: 0 },
        ],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    return { messageId, workflowId, created, state: row.state };
  }

  /** Stores the message; PostgreSQL unreachable is a clear, retryable error, and nothing starts. */
  private async store(messageId: string, message: Omit<StoredMessageInput, 'id'>): Promise<{ row: MessageRow; created: boolean }> {
    try {
      return await insertMessage(this.opts.pool, { id: messageId, ...message });
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      throw new ServiceUnavailableError(
        `message ${messageId} was not stored: PostgreSQL is unreachable (${(err as Error).message}); nothing was started. Send it again with the same id once the database is back: the id makes the retry safe`,
        err,
      );
    }
  }

  handle(messageId: string): WorkflowHandle {
    return this.opts.client.workflow.getHandle(deliveryWorkflowId(messageId));
  }

  /**
   * The delivery status, with what was heard after the relay's 250 merged in (README "Late
   * outcomes"): a closed run cannot be told, so its late outcomes come from PostgreSQL, and
   * each says it came later (`late`, `lateOutcomes`).
   */
  async status(messageId: string): Promise<DeliveryStatus> {
    return this.withLateOutcomes(await this.handle(messageId).query(statusQuery));
  }

  private async withLateOutcomes(status: DeliveryStatus): Promise<DeliveryStatus> {
    try {
      return mergeLateOutcomes(status, await lateOutcomesOf(this.opts.pool, status.messageId));
    } catch (err) {
      // The run's own status still answers while PostgreSQL is away; only the merge is missing.
      if (isDatabaseUnavailable(err)) return status;
      throw err;
    }
  }

  /** Waits for the delivery to end and returns its final status (also for a cancelled one). */
  async result(messageId: string): Promise<DeliveryStatus> {
    const handle = this.handle(messageId);
    try {
      return await this.withLateOutcomes((await handle.result()) as DeliveryStatus);
    } catch (err) {
      if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) return this.withLateOutcomes(await handle.query(statusQuery));
      throw err;
    }
  }

  async cancel(messageId: string): Promise<void> {
    await this.handle(messageId).cancel();
  }

  async retryNow(messageId: string): Promise<void> {
    await this.handle(messageId).signal(retryNowSignal);
  }

  async close(): Promise<void> {
    await this.owned.pool?.end();
    await this.owned.connection?.close();
  }
}
