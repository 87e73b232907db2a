// Sites (README "Traffic shaping"): the MX hosts of one provider are one receiver, whatever
// recipient domain points at them. Gmail answers for thousands of domains from *.google.com;
// a rate limit it gives for one of them is about all of them. Pure.

import type { Site } from './contract';

export type { Site } from './contract';

/** Provider suffixes of MX host names, the longest first where one contains another. */
export const PROVIDER_SUFFIXES: ReadonlyArray<readonly [suffix: string, site: Site]> = [
  ['google.com', 'google'],
  ['googlemail.com', 'google'],
  ['protection.outlook.com', 'microsoft'],
  ['outlook.com', 'microsoft'],
  ['hotmail.com', 'microsoft'],
  ['yahoodns.net', 'yahoo'],
  ['icloud.com', 'apple'],
  ['yandex.net', 'yandex'],
  ['zoho.com', 'zoho'],
  ['zoho.eu', 'zoho'],
  ['mail.ru', 'mailru'],
  ['gmx.net', 'gmx'],
  ['pphosted.com', 'proofpoint'],
  ['mimecast.com', 'mimecast'],
];

/** A host name in the form DNS comparisons use: lower case, no trailing root dot. */
export function normaliseHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '');
}

/** The site of one MX host: its provider's, else the host itself. */
export function siteOfHost(host: string): Site {
  const name = normaliseHost(host);
  const found = PROVIDER_SUFFIXES.find(([suffix]) => name === suffix || name.endsWith(`.${suffix}`));
  return found ? found[1] : name;
}

/**
 * The site of a domain's MX hosts, in preference order: the site of the most preferred one.
 * A domain's MX hosts belong to one provider in practice; when they do not, the primary is
 * the one the mail goes to.
 */
export function siteOfHosts(hosts: readonly string[]): Site | null {
  return hosts.length === 0 ? null : siteOfHost(hosts[0]);
}
