// The data converter every Temporal Client and Worker of Rebound is built with (README "Payload
// encryption"): with keys, the AES-256-GCM codec and the failure converter that hands failure
// messages to it; without keys, plain JSON payloads and a codec that only explains an encrypted
// one it cannot read.
import type { DataConverter } from '@temporalio/common';
import type { PayloadKeyring } from './contract';
import { AesGcmPayloadCodec, KeylessPayloadCodec } from './payload-codec';

export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/** The data converter for these keys (null: REBOUND_PAYLOAD_KEYS unset). */
export function reboundDataConverter(keys: PayloadKeyring | null): DataConverter {
  if (!keys) return { payloadCodecs: [new KeylessPayloadCodec()] };
  return { payloadCodecs: [new AesGcmPayloadCodec(keys)], failureConverterPath: FAILURE_CONVERTER_PATH };
}

/** `{ dataConverter }` to spread into Client, Worker and replay options. */
export function dataConverterOption(keys: PayloadKeyring | null): { dataConverter: DataConverter } {
  return { dataConverter: reboundDataConverter(keys) };
}
