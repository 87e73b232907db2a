// The direct demo's configuration file (README "Direct demo"), in one place: its text, and the
// configuration the demo's stack runs on, read from it and the direct network's settings the
// way any Rebound process reads its own (loadConfig). The file replaces the shipped rule for
// Gmail's 421 4.7.28 with one that suspends the site for seconds instead of an hour, so the
// demo can show the site reopening (README "Traffic shaping", the configuration file's
// `sites:` section).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type ReboundConfig } from '../config';
import { ConfigFileError } from '../domains/config-file';

/** How long the demo's rule suspends site google. */
export const DEMO_SUSPENSION_SECONDS = 20;

/** The rule the file replaces (the shipped one of the same name). */
export const DEMO_RULE = 'gmail-421-4.7.28';

export const DIRECT_DEMO_CONFIG = `# Written by \`rebound demo --direct\` (README "Direct demo"): the shipped rule for Gmail's
# "421 4.7.28" suspends site google for an hour; the demo's suspends it for ${DEMO_SUSPENSION_SECONDS} seconds.
sites:
  rules:
    - name: ${DEMO_RULE}
      match: { enhanced: '^4\\.7\\.28$', site: google }
      scope: site
      threshold: immediate
      action: suspend
      duration: ${DEMO_SUSPENSION_SECONDS}s
`;

export interface DirectDemoConfig {
  config: ReboundConfig;
  /** The file written (REBOUND_CONFIG of the demo's stack). */
  file: string;
  /**
   * How the suspended site reopens: `expiry` when the file's rule was read (its suspension runs
   * out by itself), `by-hand` when this build's configuration file has no `sites:` section yet
   * (then the shipped hour-long rule applies, and the demo resumes the site itself).
   */
  reopening: 'expiry' | 'by-hand';
  /** Removes the file. */
  remove(): void;
}

/** Whether a configuration file error says only that this build does not know `sites:`. */
function sitesUnknown(err: unknown): boolean {
  return err instanceof ConfigFileError && err.issues.every((i) => i.path === 'sites' && i.reason.startsWith('unknown key'));
}

/** The demo's configuration: the environment, the direct network's settings and the demo's file. */
export function loadDirectDemoConfig(env: NodeJS.ProcessEnv, network: Record<string, string>): DirectDemoConfig {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-demo-direct-'));
  const file = path.join(dir, 'rebound.config.yaml');
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    writeFileSync(file, DIRECT_DEMO_CONFIG);
    const demoEnv = { ...env, ...network, REBOUND_CONFIG: file };
    try {
      return { config: loadConfig(demoEnv), file, reopening: 'expiry', remove };
    } catch (err) {
      if (!sitesUnknown(err)) throw err;
      writeFileSync(file, DIRECT_DEMO_CONFIG.replace(/^sites:[\s\S]*$/m, '{}\n'));
      return { config: loadConfig(demoEnv), file, reopening: 'by-hand', remove };
    }
  } catch (err) {
    remove();
    throw err;
  }
}
