// Reading the `dkim:` section's key files (README "DKIM"): each keyFile, relative to the
// configuration file's folder, is read once when the process starts and checked, so a missing
// or unusable key stops the process instead of sending unsigned mail. A problem is named by its
// key path (`dkim["example.com"].keyFile`) and the file's path, never by what the file holds.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { checkDkimPrivateKey } from '../message/dkim-key';
import type { DkimKey } from '../message/dkim';
import type { ConfigFileIssue } from './config-file';
import { keyPath, type DkimEntry } from './config-schema';

/** The keys of `entries`, their files read relative to `configDir`; the issues, if any. */
export function readDkimKeys(entries: readonly DkimEntry[], configDir: string): { keys: DkimKey[]; issues: ConfigFileIssue[] } {
  const keys: DkimKey[] = [];
  const issues: ConfigFileIssue[] = [];
  for (const entry of entries) {
    const path = keyPath(['dkim', entry.domain, 'keyFile']);
    const file = isAbsolute(entry.keyFile) ? entry.keyFile : resolve(configDir, entry.keyFile);
    let pem: Buffer;
    try {
      pem = readFileSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException | null)?.code ?? 'unknown error';
      issues.push({ path, reason: `cannot read ${file} (${code})` });
      continue;
    }
    const checked = checkDkimPrivateKey(pem);
    if (!checked.ok) {
      issues.push({ path, reason: `${file} ${checked.reason}` });
      continue;
    }
    keys.push({ domain: entry.domain, selector: entry.selector, privateKey: checked.key, headers: entry.headers });
  }
  return { keys, issues };
}
