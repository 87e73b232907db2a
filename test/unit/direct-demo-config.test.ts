// The direct demo's configuration file (src/dev/direct-demo-config.ts, README "Direct demo"):
// what it says, and that Rebound reads it — the `sites:` rule when this build parses the
// section, or, in a build without it, nothing wrong with the file but that section.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { ConfigFileError, loadConfigFile } from '../../src/domains/config-file';
import { loadConfig, type ReboundConfig } from '../../src/config';
import { DEMO_RULE, DEMO_SUSPENSION_SECONDS, DIRECT_DEMO_CONFIG, loadDirectDemoConfig } from '../../src/dev/direct-demo-config';

const network = { delivery: 'direct' as const, dnsServers: ['127.0.0.1:5399'], mxPort: 2625, heloName: 'demo.rebound.test' };
/** Where the demo starts from: the defaults, and an operator's file with rules the demo's replaces. */
const base = { ...loadConfig({}), configFile: '/etc/rebound/rebound.config.yaml', domains: [{ pattern: 'x.test' }] as unknown as ReboundConfig['domains'] };

describe("the direct demo's configuration file", () => {
  test('replaces the shipped Gmail 421 4.7.28 rule with a suspension of seconds, in the agreed syntax', () => {
    const file = parse(DIRECT_DEMO_CONFIG) as { sites: { rules: Record<string, unknown>[] } };
    assert.equal(file.sites.rules.length, 1);
    const [rule] = file.sites.rules;
    assert.deepEqual(rule, { name: DEMO_RULE, match: { enhanced: '^4\\.7\\.28$', site: 'google' }, scope: 'site', threshold: 'immediate', action: 'suspend', duration: `${DEMO_SUSPENSION_SECONDS}s` });
    const enhanced = new RegExp((rule.match as { enhanced: string }).enhanced);
    assert.equal(enhanced.test('4.7.28'), true);
    assert.equal(enhanced.test('4.7.280'), false);
    assert.ok(DEMO_SUSPENSION_SECONDS >= 15 && DEMO_SUSPENSION_SECONDS <= 20);
  });

  test('is read with the direct network: direct delivery, its DNS server and port, and the rule or the shipped one', () => {
    const demo = loadDirectDemoConfig(base, network);
    try {
      assert.equal(demo.config.delivery, 'direct');
      assert.deepEqual(demo.config.dnsServers, ['127.0.0.1:5399']);
      assert.equal(demo.config.mxPort, 2625);
      assert.equal(demo.config.heloName, 'demo.rebound.test');
      assert.equal(demo.config.configFile, demo.file);
      assert.deepEqual(demo.config.domains, [], "the demo's file replaces the operator's");
      assert.equal(demo.config.databaseUrl, base.databaseUrl);
      assert.equal(base.delivery, 'relay', 'the configuration given is not changed');
      const shaping = (demo.config as { shaping?: { rules: { name: string; durationMs: number }[] } }).shaping;
      if (demo.reopening === 'expiry') {
        assert.equal(shaping?.rules.find((r) => r.name === DEMO_RULE)?.durationMs, DEMO_SUSPENSION_SECONDS * 1000);
      } else {
        // A build without the sites: section: that section is the file's only problem.
        const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-demo-config-'));
        writeFileSync(path.join(dir, 'c.yaml'), DIRECT_DEMO_CONFIG);
        assert.throws(() => loadConfigFile({ REBOUND_CONFIG: path.join(dir, 'c.yaml') }), (err: unknown) => err instanceof ConfigFileError && err.issues.every((i) => i.path === 'sites'));
        assert.equal(shaping, undefined);
      }
    } finally {
      demo.remove();
    }
    assert.equal(existsSync(demo.file), false, 'remove() deletes the file');
  });

});
