// The codec server's JSON (README "Payload encryption", codec server): Temporal's Payloads
// message in protobuf's JSON mapping, as the Temporal UI and the `temporal` CLI send it:
// `{"payloads":[{"metadata":{"encoding":"<base64>"},"data":"<base64>"}]}`. Bad input names the field.
import type { Payload } from '@temporalio/common';
import { ValidationError } from '../errors';

export interface PayloadJson {
  metadata?: Record<string, string>;
  data?: string;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;
/** proto3 JSON readers accept both base64 alphabets; the UI sends the standard one. */
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

function bytes(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string') throw new ValidationError(field, `expected a base64 string, got ${value === null ? 'null' : typeof value}`);
  if (!BASE64.test(value) && !BASE64URL.test(value)) throw new ValidationError(field, 'is not base64');
  return Buffer.from(value, BASE64.test(value) ? 'base64' : 'base64url');
}

/** `{payloads:[...]}` → Payloads; throws a ValidationError naming the first bad field. */
export function payloadsFromJson(body: unknown): Payload[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('payloads', 'the body must be an object {"payloads": [...]}');
  const list = (body as { payloads?: unknown }).payloads;
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new ValidationError('payloads', 'expected an array of payloads');
  return list.map((item: unknown, i) => {
    const at = `payloads[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new ValidationError(at, 'expected an object with metadata and data');
    const { metadata, data } = item as { metadata?: unknown; data?: unknown };
    if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) throw new ValidationError(`${at}.metadata`, 'expected an object of base64 strings');
    const payload: Payload = { metadata: {} };
    for (const [key, value] of Object.entries((metadata ?? {}) as Record<string, unknown>)) payload.metadata![key] = bytes(value, `${at}.metadata.${key}`);
    if (data !== undefined && data !== null) payload.data = bytes(data, `${at}.data`);
    return payload;
  });
}

/** Payloads → `{payloads:[...]}` with standard base64. */
export function payloadsToJson(payloads: Payload[]): { payloads: PayloadJson[] } {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
      ...(p.data ? { data: Buffer.from(p.data).toString('base64') } : {}),
    })),
  };
}
