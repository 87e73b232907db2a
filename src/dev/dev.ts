// `rebound dev`: the local stack until Ctrl-C.
import type { ReboundConfig } from '../config';
import { logger } from '../log';
import { codecEndpointOf, startStack, untilSignal } from './stack';

export async function runDev(config: ReboundConfig): Promise<void> {
  const stack = await startStack(config);
  logger.info(
    { temporal: stack.config.temporalAddress, ui: stack.server.uiUrl, delivery: stack.config.delivery, sink: stack.sink?.url ?? null, dns: stack.config.delivery === 'direct' ? (stack.config.dnsServers ?? 'system') : null, inbound: `${stack.inbound.host}:${stack.inbound.port}`, api: stack.api.url, taskQueue: stack.config.taskQueue },
    'rebound dev stack is up; Ctrl-C stops it',
  );
  if (stack.server.uiUrl) process.stderr.write(`\nTemporal UI: ${stack.server.uiUrl}\n`);
  // The key goes to the terminal only, never to the JSON log.
  process.stderr.write(
    `HTTP API: ${stack.api.url} (docs at ${stack.api.url}/docs)\n` +
      `dashboard: ${stack.api.url}/ui\n` +
      `development key (scope admin, revoked on Ctrl-C): ${stack.api.key}\n` +
      `webhook URLs on this machine are accepted (REBOUND_WEBHOOKS_ALLOW_PRIVATE is on for the local stack)\n` +
      `payloads are encrypted (README "Payload encryption"); the Temporal UI decodes them through ${codecEndpointOf(stack.config.apiListen)} once the key above is entered in the dashboard\n` +
      `  and "include cross-origin credentials" is ticked in the UI's Codec Server settings; \`rebound\` commands in another terminal need the same keys:\n` +
      `  ${config.payloadKeys ? 'REBOUND_PAYLOAD_KEYS as set here' : 'export REBOUND_PAYLOAD_KEYS="$(cat .data/payload-keys)"'}\n\n`,
  );
  await untilSignal();
  await stack.stop();
}
