// The dashboard at /ui (README "HTTP API", dashboard): one HTML page, its script and stylesheet
// (src/api/ui/assets/, read from the source tree at run time: plain browser files, no build), and
// chart.js's UMD build from node_modules, so it works offline. The page and its assets need no
// key; the script sends the key the operator enters to the /v1 routes. A strict
// Content-Security-Policy keeps any markup that slipped into the data from running.
import { readFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ReboundConfig } from '../../config';

export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The folder holding package.json: dist/src/api/ui is four levels down, src/api/ui three. */
export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'rebound') return dir;
    if (path.dirname(dir) === dir) throw new Error(`the dashboard cannot find Rebound's package.json above ${from}; run the API from the Rebound package`);
  }
}

export const UI_ASSETS_DIR = path.join(packageRoot(), 'src', 'api', 'ui', 'assets');

/** chart.js's UMD build: its exports map names only the module entry points, so from beside chart.cjs. */
export function chartUmdPath(): string {
  return path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js');
}

const ASSETS: Record<string, { file: () => string; type: string }> = {
  'app.js': { file: () => path.join(UI_ASSETS_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  'app.css': { file: () => path.join(UI_ASSETS_DIR, 'app.css'), type: 'text/css; charset=utf-8' },
  'chart.umd.js': { file: chartUmdPath, type: 'text/javascript; charset=utf-8' },
};

export function registerUiRoutes(app: FastifyInstance, deps: { config: Pick<ReboundConfig, 'temporalUiUrl' | 'temporalNamespace'> }): void {
  const cache = new Map<string, Buffer>();
  const load = async (file: string): Promise<Buffer> => {
    let body = cache.get(file);
    if (!body) {
      body = await readFile(file);
      cache.set(file, body);
    }
    return body;
  };
  const secure = (reply: FastifyReply): FastifyReply =>
    reply.header('content-security-policy', UI_CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('cache-control', 'no-cache');
  const hide = { schema: { hide: true } };

  const page = async (_request: unknown, reply: FastifyReply) => secure(reply).type('text/html; charset=utf-8').send(await load(path.join(UI_ASSETS_DIR, 'index.html')));
  app.get('/ui', hide, page);
  app.get('/ui/', hide, page);

  // Where the page links runs: not secret, and the page needs it before any key is entered.
  app.get('/ui/config.json', hide, async (_request, reply) => secure(reply).send({ temporalUiUrl: deps.config.temporalUiUrl, namespace: deps.config.temporalNamespace }));

  app.get<{ Params: { name: string } }>('/ui/assets/:name', hide, async (request, reply) => {
    const asset = Object.hasOwn(ASSETS, request.params.name) ? ASSETS[request.params.name] : undefined;
    if (!asset) return secure(reply).code(404).type('text/plain; charset=utf-8').send(`no dashboard asset ${request.params.name}`);
    return secure(reply).type(asset.type).send(await load(asset.file()));
  });
}
