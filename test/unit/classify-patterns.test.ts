// The text patterns of reply classification, alternative by alternative (README "Behaviour",
// Classification). Each alternative in src/delivery/classify.ts carries a sample reply: it must
// match its own alternative, and classifying it must give what its list decides. The samples
// leave out codes an earlier rule would decide on, so a broken alternative shows here.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { classifyLine, parseReplyLine } from '../../src/delivery/classify';
import { TEXT_PATTERN_ALTERNATIVES } from '../../src/delivery/reply-texts';
import type { ClassifiedReply } from '../../src/delivery/contract';

type Decision = Partial<Pick<ClassifiedReply, 'kind' | 'category' | 'scope'>>;

/** What a match of each list decides, for its samples (see the comment above each list). */
const DECIDES: Record<keyof typeof TEXT_PATTERN_ALTERNATIVES, Decision> = {
  SENDER_SIDE: { kind: 'hard', category: 'policy_block', scope: 'sender' },
  MAILBOX_FULL: { kind: 'soft', category: 'mailbox_full', scope: 'recipient' },
  RATE_LIMIT: { kind: 'soft', category: 'rate_limited' },
  SERVER_TROUBLE: { kind: 'soft', category: 'server_unavailable', scope: 'destination' },
  TOO_LARGE: { kind: 'hard', category: 'message_too_large', scope: 'message' },
  POLICY: { kind: 'hard', category: 'policy_block', scope: 'sender' },
  UNKNOWN_DOMAIN: { kind: 'hard', category: 'unknown_domain', scope: 'recipient' },
  UNKNOWN_USER: { kind: 'hard', category: 'unknown_user', scope: 'recipient' },
  INVALID_ADDRESS: { kind: 'hard', category: 'invalid_address', scope: 'recipient' },
  CONNECTION_TEXT: { kind: 'soft', category: 'network_error', scope: 'destination' },
  // Only the scope: these replies are rate limits or deferrals whose scope would otherwise be
  // the destination.
  SENDER_SOURCE: { scope: 'sender' },
};

const LISTS = Object.entries(TEXT_PATTERN_ALTERNATIVES) as [keyof typeof TEXT_PATTERN_ALTERNATIVES, (typeof TEXT_PATTERN_ALTERNATIVES)[keyof typeof TEXT_PATTERN_ALTERNATIVES]][];

function decisionOf(line: string, expected: Decision): Decision {
  const c = classifyLine(line);
  const got: Decision = {};
  for (const key of Object.keys(expected) as (keyof Decision)[]) Object.assign(got, { [key]: c[key] });
  return got;
}

describe('classify text patterns: every alternative and its sample', () => {
  for (const [name, alternatives] of LISTS) {
    describe(name, () => {
      it('has alternatives written without flags (the joined regex is case-insensitive)', () => {
        assert.ok(alternatives.length >= 2);
        for (const a of alternatives) assert.equal(a.pattern.flags, '', String(a.pattern));
      });

      for (const { pattern, sample } of alternatives) {
        it(`${pattern.source}  <-  ${sample.slice(0, 80)}`, () => {
          assert.match(sample, new RegExp(pattern.source, 'i'));
          assert.deepEqual(decisionOf(sample, DECIDES[name]), DECIDES[name]);
        });
      }
    });
  }

  it('has no sample twice', () => {
    const samples = LISTS.flatMap(([, alternatives]) => alternatives.map((a) => a.sample));
    assert.equal(new Set(samples).size, samples.length);
  });

  it('gives coded replies a status code, and connection failures neither a code nor an error code', () => {
    for (const [name, alternatives] of LISTS) {
      for (const { sample } of alternatives) {
        const raw = parseReplyLine(sample);
        if (name === 'CONNECTION_TEXT') {
          // Without a code or an error code, only the wording makes it a network error.
          assert.equal(raw.code, null, sample);
          assert.equal(raw.errorCode, null, sample);
        } else {
          assert.match(String(raw.code), /^[45]\d\d$/, sample);
        }
      }
    }
  });
});
