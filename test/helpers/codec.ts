// The payload keys of the tests (README "Payload encryption"): fixed, so the encrypted history in
// test/histories/encrypted/ recorded with them replays. Test keys only, never used elsewhere.
import path from 'node:path';
import { keyringOf } from '../../src/codec/keyring';
import { HISTORIES_DIR } from './history';

export const TEST_PAYLOAD_KEYS = keyringOf([{ id: 'test-2026', key: Buffer.alloc(32, 0x2a) }]);

/** Histories recorded with the codec on, kept apart: they replay only with TEST_PAYLOAD_KEYS. */
export const ENCRYPTED_HISTORIES_DIR = path.join(HISTORIES_DIR, 'encrypted');
