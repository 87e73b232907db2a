// The direct demo's configuration file (README "Direct demo"), in one place: its text, and the
// configuration the demo's stack runs on: the operator's, with direct delivery to the demo's
// network and the sections of this file, read by loadConfigFile as any configuration file is. The file replaces the shipped rule for
// Gmail's 421 4.7.28 with one that suspends the site for seconds instead of an hour, so the
// demo can show the site reopening (README "Traffic shaping", the configuration file's
// `sites:` section).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ReboundConfig } from '../config';
import { CONFIG_FILE_ENV, ConfigFileError, loadConfigFile } from '../domains/config-file';
import type { DirectSettings } from './direct-network';

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
  /** The file written (the demo stack's configuration file). */
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

/**
 * The demo stack's configuration: the one Rebound was started with, the direct network's
 * settings, and the sections of the demo's file (read as any configuration file is, by
 * loadConfigFile) in place of the operator's.
 */
export function loadDirectDemoConfig(base: ReboundConfig, network: DirectSettings): DirectDemoConfig {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-demo-direct-'));
  const file = path.join(dir, 'rebound.config.yaml');
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const withFile = (reopening: DirectDemoConfig['reopening']): DirectDemoConfig => {
    // Every section the file gives (domains, dkim, and sites once this build reads it), under
    // the names loadConfig gives them.
    const { path: configFile, ...sections } = loadConfigFile({ [CONFIG_FILE_ENV]: file });
    return { config: { ...base, ...sections, ...network, configFile }, file, reopening, remove };
  };
  try {
    writeFileSync(file, DIRECT_DEMO_CONFIG);
    try {
      return withFile('expiry');
    } catch (err) {
      if (!sitesUnknown(err)) throw err;
      writeFileSync(file, DIRECT_DEMO_CONFIG.replace(/^sites:[\s\S]*$/m, '{}\n'));
      return withFile('by-hand');
    }
  } catch (err) {
    remove();
    throw err;
  }
}
