// The configuration's side of the sites view (README "Traffic shaping", seeing and steering
// sites): each site's limits as the senders compute them (defaults, shipped table, the file's
// "*" and its entry) and the sites shown even when quiet: those the file gives limits of, and
// the relay in relay mode.
import type { ShapingConfig, Site } from './contract';
import { effectiveLimits } from './limits';
import type { SiteDirectory } from './view';

export function siteDirectory(shaping: ShapingConfig, alsoShown: readonly Site[] = []): SiteDirectory {
  const named = [...new Set([...Object.keys(shaping.limits).filter((s) => s !== '*'), ...alsoShown])];
  return {
    limitsOf: (site) => effectiveLimits(site, shaping.limits),
    configured: () => [...named],
  };
}
