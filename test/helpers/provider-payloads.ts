// Realistic webhook payloads of each provider, in the shapes their documentation gives (README
// "Late outcomes", provider webhooks), with made-up addresses and ids. Each builder takes the
// parts a test varies.

// ---- Amazon SES (the Message of an SNS notification) ----

const sesMail = (messageId: string, extraHeaders: { name: string; value: string }[] = []) => ({
  timestamp: '2026-03-02T10:15:00.000Z',
  source: 'Shop <shop@example.com>',
  sourceArn: 'arn:aws:ses:us-east-1:123456789012:identity/example.com',
  sendingAccountId: '123456789012',
  messageId,
  destination: ['bob@example.org'],
  headersTruncated: false,
  headers: [
    { name: 'From', value: 'Shop <shop@example.com>' },
    { name: 'To', value: 'bob@example.org' },
    { name: 'Subject', value: 'Your receipt' },
    { name: 'Message-ID', value: '<order-1234@example.com>' },
    ...extraHeaders,
  ],
  commonHeaders: { from: ['Shop <shop@example.com>'], to: ['bob@example.org'], messageId: '<order-1234@example.com>', subject: 'Your receipt' },
});

export function sesBounce(bounceType: 'Permanent' | 'Transient' | 'Undetermined', recipients: { emailAddress: string; status?: string; action?: string; diagnosticCode?: string }[], messageId = '0100018e0a1b2c3d-11111111-2222-3333-4444-555555555555-000000') {
  return {
    notificationType: 'Bounce',
    bounce: {
      feedbackId: '0100018e0a1b2c3d-feedback-000000',
      bounceType,
      bounceSubType: bounceType === 'Permanent' ? 'General' : 'MailboxFull',
      bouncedRecipients: recipients,
      timestamp: '2026-03-02T10:16:30.000Z',
      remoteMtaIp: '192.0.2.25',
      reportingMTA: 'dsn; a8-51.smtp-out.amazonses.com',
    },
    mail: sesMail(messageId, [{ name: 'X-Rebound-Ref', value: 'r1.order-1234' }]),
  };
}

export function sesComplaint(emailAddress: string, feedbackType?: string) {
  return {
    eventType: 'Complaint',
    complaint: {
      feedbackId: '0100018e0a1b2c3d-complaint-000000',
      complaintSubType: null,
      complainedRecipients: [{ emailAddress }],
      timestamp: '2026-03-02T11:00:00.000Z',
      userAgent: 'ExampleCorp Feedback Loop (V0.01)',
      arrivalDate: '2026-03-02T10:59:00.000Z',
      ...(feedbackType ? { complaintFeedbackType: feedbackType } : {}),
    },
    mail: sesMail('0100018e0a1b2c3d-complained-000000'),
  };
}

export function sesDeliveryDelay(emailAddress: string) {
  return {
    eventType: 'DeliveryDelay',
    deliveryDelay: {
      timestamp: '2026-03-02T10:45:00.000Z',
      delayType: 'TransientCommunicationFailure',
      expirationTime: '2026-03-02T22:15:00.000Z',
      delayedRecipients: [{ emailAddress, status: '4.4.1', diagnosticCode: 'smtp; 421 4.4.1 mx.example.org: connection timed out' }],
    },
    mail: sesMail('0100018e0a1b2c3d-delayed-000000'),
  };
}

export function sesDelivery(emailAddress: string) {
  return {
    notificationType: 'Delivery',
    delivery: { timestamp: '2026-03-02T10:15:02.000Z', processingTimeMillis: 1800, recipients: [emailAddress], smtpResponse: '250 2.0.0 OK', reportingMTA: 'a8-51.smtp-out.amazonses.com' },
    mail: sesMail('0100018e0a1b2c3d-delivered-000000'),
  };
}

// ---- SendGrid Event Webhook (an array of these) ----

const sgBase = (event: string, email: string, id: string) => ({
  email,
  timestamp: 1772446590,
  'smtp-id': '<order-1234@example.com>',
  event,
  category: ['receipts'],
  sg_event_id: id,
  sg_message_id: 'Xy12AbCdEfGhIjKl.filterdrecv-5bd4c8b7c6-abcde-1-65E2F1A1-2B.0',
});

export const sendgridBounce = (email: string, type: 'bounce' | 'blocked', id = 'sg-bounce-1') => ({
  ...sgBase('bounce', email, id),
  reason: '550 5.1.1 The email account that you tried to reach does not exist.',
  status: '5.1.1',
  type,
  bounce_classification: type === 'bounce' ? 'Invalid Address' : 'Reputation',
  tls: 1,
});
export const sendgridDeferred = (email: string, id = 'sg-deferred-1') => ({ ...sgBase('deferred', email, id), response: '451 4.7.1 Greylisted, try again in 5 minutes', attempt: '2', tls: 1 });
export const sendgridSpamReport = (email: string, id = 'sg-spam-1') => ({ ...sgBase('spamreport', email, id) });
export const sendgridDelivered = (email: string, id = 'sg-delivered-1') => ({ ...sgBase('delivered', email, id), response: '250 2.0.0 OK', tls: 1 });
export const sendgridOpen = (email: string, id = 'sg-open-1') => ({ ...sgBase('open', email, id), useragent: 'Mozilla/5.0', ip: '198.51.100.7', sg_machine_open: false });
export const sendgridClick = (email: string, id = 'sg-click-1') => ({ ...sgBase('click', email, id), url: 'https://example.com/orders/1234', useragent: 'Mozilla/5.0', ip: '198.51.100.7' });
export const sendgridDropped = (email: string, id = 'sg-dropped-1') => ({ ...sgBase('dropped', email, id), reason: 'Bounced Address', status: '5.0.0' });

// ---- Mailgun (the event-data of a webhook) ----

const mgBase = (event: string, recipient: string, id: string) => ({
  id,
  timestamp: 1772446590.123456,
  'log-level': event === 'failed' ? 'error' : 'info',
  event,
  recipient,
  'recipient-domain': recipient.split('@')[1],
  envelope: { sender: 'bounce+abc@mg.example.com', transport: 'smtp', targets: recipient },
  message: { headers: { to: recipient, 'message-id': 'order-1234@example.com', from: 'Shop <shop@example.com>', subject: 'Your receipt' }, attachments: [], size: 2048 },
  tags: [],
  'user-variables': {},
});

export const mailgunFailed = (recipient: string, severity: 'permanent' | 'temporary', id = 'mg-failed-1') => ({
  ...mgBase('failed', recipient, id),
  severity,
  reason: severity === 'permanent' ? 'bounce' : 'generic',
  'delivery-status': severity === 'permanent'
    ? { 'attempt-no': 1, code: 550, message: '5.1.1 The email account that you tried to reach does not exist.', description: '', 'enhanced-code': '5.1.1', 'mx-host': 'mx.example.org', tls: true }
    : { 'attempt-no': 2, code: 452, message: '4.2.2 The email account that you tried to reach is over quota.', description: '', 'retry-seconds': 600, 'mx-host': 'mx.example.org', tls: true },
});
export const mailgunComplained = (recipient: string, id = 'mg-complained-1') => ({ ...mgBase('complained', recipient, id) });
export const mailgunDelivered = (recipient: string, id = 'mg-delivered-1') => ({ ...mgBase('delivered', recipient, id), 'delivery-status': { code: 250, message: 'OK', description: '' } });
export const mailgunOpened = (recipient: string, id = 'mg-opened-1') => ({ ...mgBase('opened', recipient, id), ip: '198.51.100.7', 'client-info': { 'client-name': 'Thunderbird' } });

// ---- Postmark (one record per request) ----

export const postmarkBounce = (email: string, type: string, typeCode: number, id = 4323372036) => ({
  RecordType: 'Bounce',
  MessageStream: 'outbound',
  ID: id,
  Type: type,
  TypeCode: typeCode,
  Name: type === 'HardBounce' ? 'Hard bounce' : 'Soft bounce',
  Tag: 'receipts',
  MessageID: '883953f4-6105-42a2-a16a-77a8eac79483',
  Metadata: {},
  ServerID: 23,
  Description: 'The server was unable to deliver your message (ex: unknown user, mailbox not found).',
  Details: type === 'HardBounce' ? 'smtp;550 5.1.1 The email account that you tried to reach does not exist.' : 'smtp;452 4.2.2 Mailbox full',
  Email: email,
  From: 'shop@example.com',
  BouncedAt: '2026-03-02T10:16:30Z',
  DumpAvailable: true,
  Inactive: type === 'HardBounce',
  CanActivate: true,
  Subject: 'Your receipt',
  Content: '',
});
export const postmarkSpamComplaint = (email: string, id = 4323372037) => ({
  RecordType: 'SpamComplaint',
  MessageStream: 'outbound',
  ID: id,
  Type: 'SpamComplaint',
  TypeCode: 100001,
  Name: 'Spam complaint',
  Tag: 'receipts',
  MessageID: '883953f4-6105-42a2-a16a-77a8eac79484',
  ServerID: 23,
  Description: 'The subscriber explicitly marked this message as spam.',
  Details: 'Test spam complaint details',
  Email: email,
  From: 'shop@example.com',
  BouncedAt: '2026-03-02T11:00:00Z',
  Subject: 'Your receipt',
});
export const postmarkDelivery = (email: string) => ({
  RecordType: 'Delivery',
  ServerID: 23,
  MessageStream: 'outbound',
  MessageID: '883953f4-6105-42a2-a16a-77a8eac79485',
  Recipient: email,
  Tag: 'receipts',
  DeliveredAt: '2026-03-02T10:15:02Z',
  Details: 'Test delivery webhook details',
});
export const postmarkOpen = (email: string) => ({ RecordType: 'Open', MessageStream: 'outbound', FirstOpen: true, Recipient: email, MessageID: '883953f4-6105-42a2-a16a-77a8eac79486', ReceivedAt: '2026-03-02T10:20:00Z', Platform: 'WebMail' });
