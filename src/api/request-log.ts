// What the API's request log says of a request (README "Security", personal data): fastify's
// fields, with the addresses taken out of the URL. Routes name addresses in the path
// (/v1/suppressions/{address}, /v1/addresses/{address}) and lists may filter by one in the
// query; the log keeps which route was called and drops whose address it was about.
import type { FastifyRequest } from 'fastify';

export const REDACTED = '<redacted>';

/** A path segment or query value that holds an address (an @, raw or percent-encoded). */
const HOLDS_ADDRESS = /@|%40/i;

/** The URL without the addresses in it: each path segment or query value holding one is replaced. */
export function redactAddresses(url: string): string {
  const q = url.indexOf('?');
  const pathPart = q < 0 ? url : url.slice(0, q);
  const path = pathPart
    .split('/')
    .map((segment) => (HOLDS_ADDRESS.test(segment) ? REDACTED : segment))
    .join('/');
  if (q < 0) return path;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq >= 0 && HOLDS_ADDRESS.test(pair.slice(eq + 1)) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
    })
    .join('&');
  return `${path}?${query}`;
}

/** The `req` serializer of the API's logger: fastify's fields, the URL redacted. */
export function requestLogFields(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactAddresses(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
