// The data converter every Temporal Client and Worker of Rebound is built with (README "Payload
// encryption"): with keys, the AES-256-GCM codec and the failure converter that hands failure
// messages to it; without keys, the SDK's defaults (plain JSON payloads).
import type { DataConverter } from '@temporalio/common';
import type { PayloadKeyring } from './contract';
import { AesGcmPayloadCodec } from './payload-codec';

export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/** The data converter for these keys; undefined (the SDK's default) without keys. */
export function reboundDataConverter(keys: PayloadKeyring | null): DataConverter | undefined {
  if (!keys) return undefined;
  return { payloadCodecs: [new AesGcmPayloadCodec(keys)], failureConverterPath: FAILURE_CONVERTER_PATH };
}

/** `{ dataConverter }` to spread into Client, Worker and replay options; nothing without keys. */
export function dataConverterOption(keys: PayloadKeyring | null): { dataConverter?: DataConverter } {
  const dataConverter = reboundDataConverter(keys);
  return dataConverter ? { dataConverter } : {};
}
