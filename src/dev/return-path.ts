// The local stack's return path (README "Late outcomes"): without REBOUND_BOUNCE_DOMAIN it uses
// bounces.rebound.test, and without REBOUND_BOUNCE_SECRET a key kept in .data/bounce-secret,
// made once per checkout, so that tokens of messages sent before a restart still verify.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ReboundConfig } from '../config';
import { PROJECT_ROOT } from './tools';

export const DEV_BOUNCE_DOMAIN = 'bounces.rebound.test';
const SECRET_FILE = path.join(PROJECT_ROOT, '.data/bounce-secret');

function devSecret(): string {
  try {
    const kept = readFileSync(SECRET_FILE, 'utf8').trim();
    if (kept.length >= 32) return kept;
  } catch {
    // none yet
  }
  const secret = randomBytes(32).toString('base64url');
  mkdirSync(path.dirname(SECRET_FILE), { recursive: true });
  writeFileSync(SECRET_FILE, `${secret}\n`, { mode: 0o600 });
  return secret;
}

export function devInbound(inbound: ReboundConfig['inbound']): ReboundConfig['inbound'] {
  return { ...inbound, bounceDomain: inbound.bounceDomain ?? DEV_BOUNCE_DOMAIN, bounceSecret: inbound.bounceSecret ?? devSecret() };
}
