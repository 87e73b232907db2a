// Response headers of the HTTP API (README "Security"), set in one onSend hook so they are on
// every answer, problem details and 404s included. Not @fastify/helmet: the API serves three
// kinds of answer that want different policies (JSON under /v1, the dashboard under /ui with
// its own CSP, swagger-ui under /docs, whose inline script a global CSP would break), and the
// handful of headers that matter for a JSON API fit here without another dependency.
import type { FastifyInstance } from 'fastify';

/** For answers that are data, not pages: nothing in them may load, run or be framed. */
export const DATA_CSP = "default-src 'none'; frame-ancestors 'none'";

export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-resource-policy', 'same-origin');
    const path = request.url.split('?')[0];
    // /docs brings its own page and scripts; /ui sets its own CSP (src/api/ui/routes.ts).
    if (!path.startsWith('/docs') && !reply.hasHeader('content-security-policy')) reply.header('content-security-policy', DATA_CSP);
    // Messages, statuses and suppressions are personal data: no cache, shared or private, keeps them.
    if (!path.startsWith('/docs') && !path.startsWith('/ui') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
}
