// The HTTP API inside the local stack (README "HTTP API"): `rebound dev` and `rebound demo` serve
// it on REBOUND_API_LISTEN with a development key of scope admin, created when the stack starts
// and revoked when it stops, so a key printed by an earlier run never keeps working.
import type { FastifyInstance } from 'fastify';
import { createApiKey, revokeApiKey } from '../api/keys';
import { buildApiServer } from '../api/server';
import { ReboundClient } from '../client/rebound-client';
import type { ReboundConfig } from '../config';

export interface DevApi {
  /** http://host:port of the API. */
  url: string;
  /** The development key, shown to the operator; revoked by stop(). */
  key: string;
  rebound: ReboundClient;
  stop(): Promise<void>;
}

export async function startDevApi(config: ReboundConfig): Promise<DevApi> {
  const rebound = await ReboundClient.connect(config);
  let app: FastifyInstance | null = null;
  try {
    app = await buildApiServer({ rebound, pool: rebound.pool, config });
    await app.listen({ host: config.apiListen.host, port: config.apiListen.port });
  } catch (err) {
    await app?.close();
    await rebound.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      throw new Error(`the HTTP API cannot listen on ${config.apiListen.host}:${config.apiListen.port}: the port is in use; stop what uses it or set REBOUND_API_LISTEN`);
    }
    throw err;
  }
  const created = await createApiKey(rebound.pool, { name: `development (rebound dev, pid ${process.pid})`, scope: 'admin' });
  const server = app;
  return {
    url: `http://${config.apiListen.host}:${config.apiListen.port}`,
    key: created.key,
    rebound,
    async stop() {
      await revokeApiKey(rebound.pool, created.id).catch(() => undefined);
      await server.close();
      await rebound.close();
    },
  };
}
