// The package's public surface: the client SDK, the pure policy and the shared vocabulary.
export { ReboundClient, type ReboundClientOptions, type SendReceipt } from './client/rebound-client';
export { IdConflictError, ServiceUnavailableError, ValidationError } from './errors';
export type { SendRequest, ValidatedSendRequest, Mailbox } from './message/validate';
export { validateSendRequest } from './message/validate';
export { classifyLine, classifyReply, parseReplyLine, parseWaitHint, suppressesAddress } from './delivery/classify';
export { PROFILES, planNextAttempt, resolveSchedule } from './delivery/schedule';
export { parseDuration, formatDuration } from './delivery/duration';
export { loadConfig, type ReboundConfig } from './config';
export * from './delivery/contract';
export { normaliseAddress, domainOf } from './message/address';
export * from './reputation/contract';
