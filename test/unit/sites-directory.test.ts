// What the sites view is given of the configuration (README "Traffic shaping", seeing and
// steering sites): the limits the senders compute, and the sites shown even when quiet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteDirectory } from '../../src/sites/directory';
import { DEFAULT_SHAPING } from '../../src/sites/config-schema';
import { DEFAULT_LIMITS } from '../../src/sites/limits';

test('the directory gives the shipped table, the file\'s "*" and its entries, and names the configured sites and the relay', () => {
  const dir = siteDirectory({ ...DEFAULT_SHAPING, limits: { '*': { connections: 10 }, 'mx.example.net': { messagesPerMinute: 60 } } }, ['smtp.relay.example']);
  // The file's "*" comes after the shipped table (README "Traffic shaping", Limits).
  assert.deepEqual(dir.limitsOf('google'), { initialConnections: 5, connections: 10, messagesPerConnection: 50, messagesPerMinute: null });
  assert.deepEqual(siteDirectory(DEFAULT_SHAPING).limitsOf('google').connections, 5);
  assert.deepEqual(dir.limitsOf('mx.example.net'), { initialConnections: 5, connections: 10, messagesPerConnection: 100, messagesPerMinute: 60 });
  assert.deepEqual(dir.limitsOf('mx.quiet.example'), { ...DEFAULT_LIMITS, connections: 10 });
  assert.deepEqual(dir.configured().sort(), ['mx.example.net', 'smtp.relay.example']);
});

test('without a sites: section the limits are the defaults and the shipped table, and only the relay is named', () => {
  const dir = siteDirectory(DEFAULT_SHAPING, ['127.0.0.1']);
  assert.deepEqual(dir.limitsOf('mx.example.org'), DEFAULT_LIMITS);
  assert.equal(dir.limitsOf('apple').messagesPerConnection, 5);
  assert.deepEqual(dir.configured(), ['127.0.0.1']);
});
