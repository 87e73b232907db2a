// What the pg-boss peer keeps in the bench database: pg-boss's own tables and the peer's
// message table, all in a schema of their own so that nothing touches Rebound's tables.
/** pg-boss's schema, which also holds peer_messages. */
export const PEER_SCHEMA = 'peer';
/** One job per attempt. */
export const PEER_QUEUE = 'peer-send';

/** A message and where its recipients stand; no history of attempts (README "Performance", the trade). */
export const CREATE_TABLE = `
  CREATE TABLE IF NOT EXISTS ${PEER_SCHEMA}.peer_messages (
    id text PRIMARY KEY,
    mail_from text NOT NULL,
    recipients text[] NOT NULL,
    pending text[] NOT NULL,
    delivered text[] NOT NULL DEFAULT '{}',
    failed text[] NOT NULL DEFAULT '{}',
    raw bytea NOT NULL,
    state text NOT NULL DEFAULT 'queued',
    attempts integer NOT NULL DEFAULT 0,
    last_reply text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`;

/** The job's payload: ids only, the content stays in the row (a job row is small, like an activity input). */
export interface PeerJob {
  id: string;
  attempt: number;
}

/** At most one queued job per message and attempt: a repeated submit or re-queue adds none. */
export const singletonKey = (job: PeerJob): string => `${job.id}:${job.attempt}`;
