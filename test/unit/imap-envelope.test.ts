// The envelope recovered from a mail read over IMAP (src/bounces/imap-envelope.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstAddress, recoverEnvelope } from '../../src/bounces/imap-envelope';

const mail = (...headers: string[]) => Buffer.from(`${headers.join('\r\n')}\r\n\r\nTo: body@not.a.header\r\n`);

test('recoverEnvelope: which header gives each address', () => {
  const cases: [string, Buffer, string | null, { envelopeFrom: string | null; envelopeTo: string | null }][] = [
    ['a DSN: null sender, Delivered-To', mail('Return-Path: <>', 'Delivered-To: b+t1@bounces.example.test', 'To: someone@example.test'), null, { envelopeFrom: '', envelopeTo: 'b+t1@bounces.example.test' }],
    ['X-Original-To when there is no Delivered-To', mail('Return-Path: <mailer@mx.example.test>', 'X-Original-To: b+t2@bounces.example.test', 'To: x@example.test'), null, { envelopeFrom: 'mailer@mx.example.test', envelopeTo: 'b+t2@bounces.example.test' }],
    ['To with a display name, no Return-Path', mail('To: "Bounces" <b+t3@bounces.example.test>'), null, { envelopeFrom: null, envelopeTo: 'b+t3@bounces.example.test' }],
    ['the topmost Delivered-To without a bounce domain', mail('Delivered-To: hosted@mail.example.test', 'Delivered-To: b+t4@bounces.example.test'), null, { envelopeFrom: null, envelopeTo: 'hosted@mail.example.test' }],
    ['the Delivered-To on the bounce domain when given', mail('Delivered-To: hosted@mail.example.test', 'Delivered-To: b+t5@Bounces.Example.Test'), 'bounces.example.test', { envelopeFrom: null, envelopeTo: 'b+t5@Bounces.Example.Test' }],
    ['the bounce domain found in To, below a Delivered-To', mail('Delivered-To: hosted@mail.example.test', 'To: b+t6@bounces.example.test'), 'bounces.example.test', { envelopeFrom: null, envelopeTo: 'b+t6@bounces.example.test' }],
    ['folded header lines', mail('Return-Path:', ' <>', 'Delivered-To:', '\tb+t7@bounces.example.test'), null, { envelopeFrom: '', envelopeTo: 'b+t7@bounces.example.test' }],
    ['header names in any case, LF line ends', Buffer.from('RETURN-PATH: <>\nDELIVERED-TO: b+t8@bounces.example.test\n\nbody\n'), null, { envelopeFrom: '', envelopeTo: 'b+t8@bounces.example.test' }],
    ['no addresses at all', mail('Subject: hello', 'To: undisclosed-recipients:;'), null, { envelopeFrom: null, envelopeTo: null }],
    ['headers only, no body', Buffer.from('Delivered-To: b+t9@bounces.example.test'), null, { envelopeFrom: null, envelopeTo: 'b+t9@bounces.example.test' }],
    ['empty input', Buffer.alloc(0), null, { envelopeFrom: null, envelopeTo: null }],
  ];
  for (const [name, raw, domain, expected] of cases) assert.deepEqual(recoverEnvelope(raw, domain), expected, name);
});

test('firstAddress', () => {
  const cases: [string, string | null][] = [
    ['<a@example.test>', 'a@example.test'],
    ['<>', ''],
    ['Name <a@example.test>, b@example.test', 'a@example.test'],
    ['a@example.test (comment)', 'a@example.test'],
    ['"Quoted, Name" <q@example.test>', 'q@example.test'],
    ['nobody', null],
  ];
  for (const [value, expected] of cases) assert.equal(firstAddress(value), expected, value);
});
