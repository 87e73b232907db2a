// The `scale` profile of docker-compose.yml (README "Scaling beyond one machine"): read as YAML,
// it must keep the default stack as it was, give every Temporal service the same shard count on
// databases of its own, and run the extra workers with the worker's whole environment. No Docker
// engine is needed; `docker-compose --profile scale config -q` checks the syntax, this the intent.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';

const ROOT = path.resolve(__dirname, '../../..');

interface Service {
  image?: string;
  profiles?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  deploy?: { replicas?: string | number };
  depends_on?: Record<string, unknown> | string[];
}

// `merge: true`: the file shares environments with YAML merge keys (<<), as Compose reads them.
const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const inScale = (name: string) => services[name].profiles?.includes('scale') ?? false;
const scaleNames = Object.keys(services).filter(inScale);
const temporalServers = scaleNames.filter((n) => services[n].image?.startsWith('temporalio/server:'));

/** The host port of a "127.0.0.1:HOST:CONTAINER" mapping. */
const hostPort = (mapping: string) => mapping.split(':').slice(-2)[0];

describe('docker-compose profile scale', () => {
  test('leaves the default stack alone: its services keep no profile and use the single server unless told otherwise', () => {
    for (const name of ['postgresql', 'temporal', 'temporal-search-attributes', 'temporal-ui', 'mailpit', 'migrate', 'worker', 'api', 'inbound']) {
      assert.ok(services[name], `default service ${name} is still there`);
      assert.equal(services[name].profiles, undefined, `${name} starts without a profile`);
    }
    for (const name of ['worker', 'api', 'temporal-ui', 'temporal-search-attributes']) {
      assert.equal(services[name].environment?.TEMPORAL_ADDRESS, '${REBOUND_COMPOSE_TEMPORAL_ADDRESS:-temporal:7233}', `${name} follows REBOUND_COMPOSE_TEMPORAL_ADDRESS`);
    }
  });

  test('runs history, matching, frontend and the system worker as separate services, all with 512 shards on databases of their own', () => {
    const roles = temporalServers.map((n) => services[n].environment?.SERVICES).sort();
    assert.deepEqual(roles, ['frontend', 'history', 'matching', 'worker']);
    for (const name of temporalServers) {
      const env = services[name].environment ?? {};
      // Every service reads the shard count; they must agree, and it is fixed at creation.
      assert.equal(env.NUM_HISTORY_SHARDS, '512', `${name} NUM_HISTORY_SHARDS`);
      assert.equal(env.DB, 'postgres12', `${name} DB`);
      // The default server created `temporal` with 4 shards: a different count cannot share it.
      assert.equal(env.DBNAME, 'temporal_scale', `${name} DBNAME`);
      assert.equal(env.VISIBILITY_DBNAME, 'temporal_scale_visibility', `${name} VISIBILITY_DBNAME`);
      assert.equal(env.PUBLIC_FRONTEND_ADDRESS, 'temporal-frontend:7233', `${name} PUBLIC_FRONTEND_ADDRESS`);
    }
    assert.equal(services['temporal-history'].deploy?.replicas, '${REBOUND_COMPOSE_SCALE_HISTORY_REPLICAS:-2}');
    const schemaJob = services['temporal-scale-schema'];
    assert.ok(inScale('temporal-scale-schema') && schemaJob.image?.startsWith('temporalio/admin-tools:'));
    for (const name of temporalServers) {
      assert.deepEqual(services[name].depends_on, { 'temporal-scale-schema': { condition: 'service_completed_successfully' } }, `${name} waits for the schema`);
    }
  });

  test("runs several Rebound workers with the worker's whole environment, on the scale cluster's frontend", () => {
    const worker = services.worker.environment ?? {};
    const scaled = services['worker-scale'];
    assert.ok(inScale('worker-scale'));
    assert.equal(scaled.deploy?.replicas, '${REBOUND_COMPOSE_SCALE_WORKERS:-3}');
    const env = scaled.environment ?? {};
    assert.equal(env.TEMPORAL_ADDRESS, 'temporal-frontend:7233');
    for (const [key, value] of Object.entries(worker)) {
      if (key === 'TEMPORAL_ADDRESS') continue;
      assert.equal(env[key], value, `worker-scale ${key} is the worker's`);
    }
    assert.deepEqual(Object.keys(env).sort(), Object.keys(worker).sort(), 'no variable of its own beside the address');
    assert.equal(scaled.ports, undefined, 'replicas cannot share a published host port');
    const deps = scaled.depends_on as Record<string, { condition: string }>;
    assert.equal(deps['temporal-scale-namespace'].condition, 'service_completed_successfully');
    assert.equal(deps.migrate.condition, 'service_completed_successfully');
  });

  test('publishes no host port a default service already publishes', () => {
    const taken = new Set(Object.keys(services).filter((n) => !inScale(n)).flatMap((n) => (services[n].ports ?? []).map(hostPort)));
    for (const name of scaleNames) {
      for (const mapping of services[name].ports ?? []) {
        assert.ok(mapping.startsWith('127.0.0.1:'), `${name} publishes on loopback only: ${mapping}`);
        assert.equal(taken.has(hostPort(mapping)), false, `${name} host port ${hostPort(mapping)} is free`);
      }
    }
  });
});
