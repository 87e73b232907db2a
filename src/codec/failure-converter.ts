// The failure converter the codec goes with (README "Payload encryption"): a failure's message
// and stack trace move into its encoded attributes, a payload, so the codec encrypts them too (an
// SMTP error or a database error can quote a recipient). Loaded by path (the SDK's
// failureConverterPath), in the client, the worker and the workflow bundle.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
