// Sites (README "Traffic shaping"): MX hosts grouped by provider suffix, else the host itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteOfHost, siteOfHosts } from '../../src/sites/policy';

test('the site of an MX host', () => {
  const cases: Array<[host: string, site: string]> = [
    ['gmail-smtp-in.l.google.com', 'google'],
    ['ALT1.GMAIL-SMTP-IN.L.GOOGLE.COM.', 'google'],
    ['aspmx.l.google.com', 'google'],
    ['mx1.googlemail.com', 'google'],
    ['example-com.mail.protection.outlook.com', 'microsoft'],
    ['hotmail-com.olc.protection.outlook.com', 'microsoft'],
    ['mx1.hotmail.com', 'microsoft'],
    ['mta5.am0.yahoodns.net', 'yahoo'],
    ['mx01.mail.icloud.com', 'apple'],
    ['mx.yandex.net', 'yandex'],
    ['mx00.emig.gmx.net', 'gmx'],
    ['mx0a-001.pphosted.com', 'proofpoint'],
    // Not a provider's: the host itself, normalised.
    ['mx.example.org.', 'mx.example.org'],
    // A suffix only counts at a label boundary.
    ['mx.notgoogle.com', 'mx.notgoogle.com'],
    ['google.com.evil.test', 'google.com.evil.test'],
    ['google.com', 'google'],
  ];
  for (const [host, site] of cases) assert.equal(siteOfHost(host), site, host);
});

test('the site of a domain is its most preferred MX host\'s', () => {
  const cases: Array<[hosts: string[], site: string | null]> = [
    [['aspmx.l.google.com', 'mx.backup.example'], 'google'],
    [['mx.backup.example', 'aspmx.l.google.com'], 'mx.backup.example'],
    [[], null],
  ];
  for (const [hosts, site] of cases) assert.equal(siteOfHosts(hosts), site, hosts.join(','));
});
