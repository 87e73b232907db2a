// The HTTP API commands of `rebound` (README "HTTP API"): `rebound api` serves it until SIGINT or
// SIGTERM, `rebound api-keys create|list|revoke` manage its keys. main.ts passes its withClient,
// so errors print and exit as every command's do.
import { Option, type Command } from 'commander';
import { ReboundClient } from '../client/rebound-client';
import { loadConfig } from '../config';
import { API_KEY_SCOPES, createApiKey, listApiKeys, parseScope, revokeApiKey } from '../api/keys';
import type { WithClient } from './main';
import { exitCodeFor, printJson, reportFailure, table } from './output';

export function addApiCommands(program: Command, withClient: WithClient): void {
  program
    .command('api')
    .description('serve the HTTP API on REBOUND_API_LISTEN (docs at /docs, OpenAPI at /openapi.json)')
    .action(async () => {
      // Loaded here, not at import: the server and its plugins are only needed by this command.
      const [{ buildApiServer }, { untilSignal }, { logger }] = await Promise.all([import('../api/server.js'), import('../dev/stack.js'), import('../log.js')]);
      let rebound: ReboundClient | undefined;
      try {
        const config = loadConfig();
        rebound = await ReboundClient.connect();
        const app = await buildApiServer({ rebound, pool: rebound.pool, config });
        const address = await app.listen({ host: config.apiListen.host, port: config.apiListen.port });
        logger.info({ address, docs: `${address}/docs` }, 'api ready');
        const signal = await untilSignal();
        logger.info({ signal }, 'api stopping: finishing the requests in flight');
        await app.close();
        await rebound.close();
      } catch (err) {
        await rebound?.close().catch(() => undefined);
        reportFailure(err, false);
        process.exit(exitCodeFor(err));
      }
    });

  const keys = program.command('api-keys').description('keys of the HTTP API: create, list, revoke');

  keys
    .command('create')
    .description('create a key; it is printed once and only its hash is stored')
    .requiredOption('--name <name>', 'what the key is for, e.g. the service using it')
    .addOption(new Option('--scope <scope>', 'read: read messages; send: also send and cancel; admin: everything').choices([...API_KEY_SCOPES]).makeOptionMandatory())
    .option('--json', 'print JSON: {id, name, scope, key}')
    .action(async (o) => {
      await withClient(!!o.json, async (client) => {
        const created = await createApiKey(client.pool, { name: o.name, scope: parseScope(o.scope) });
        if (o.json) return printJson({ id: created.id, name: created.name, scope: created.scope, key: created.key });
        process.stdout.write(`created key ${created.id} (${created.name}, scope ${created.scope}):\n\n  ${created.key}\n\nIt is shown only this once: store it now. Send it as "Authorization: Bearer <key>".\n`);
      });
    });

  keys
    .command('list')
    .description('every key, revoked ones too (never the keys themselves)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      await withClient(!!o.json, async (client) => {
        const rows = await listApiKeys(client.pool);
        if (o.json) return printJson(rows);
        process.stdout.write(`${table([['ID', 'NAME', 'SCOPE', 'CREATED', 'REVOKED'], ...rows.map((k) => [k.id, k.name, k.scope, k.createdAt, k.revokedAt ?? ''])])}\n`);
      });
    });

  keys
    .command('revoke <id>')
    .description('revoke a key: requests presenting it are refused (401) from now on')
    .option('--json', 'print JSON')
    .action(async (id: string, o) => {
      await withClient(!!o.json, async (client) => {
        const revoked = await revokeApiKey(client.pool, id);
        if (!revoked) throw new Error(`no API key has id ${id}; \`rebound api-keys list\` shows them`);
        if (o.json) return printJson(revoked);
        process.stdout.write(`revoked key ${revoked.id} (${revoked.name}) at ${revoked.revokedAt}\n`);
      });
    });
}
