import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml, type MailContent } from '../src/mail/layout';
import {
  accountDeletedNotice,
  emailChangeCodeMail,
  emailChangedNotice,
  formatWhen,
  passkeyAddedNotice,
  signInCodeMail,
} from '../src/mail/templates';
import { createSmtpMailer } from '../src/ports/smtp-mailer';
import { createTestContext, uniqueEmail, type TestContext } from './helpers/app';
import { startSmtpSink } from './helpers/smtp';

// A product name that would break the HTML if any value went in unescaped.
const PRODUCT = 'Acme <b>&</b> "Co"';
const context = { product: PRODUCT, at: new Date('2026-12-01T10:57:00Z'), device: 'Chrome on macOS', ipAddress: '203.0.113.9' };

const templates: [string, MailContent, string[]][] = [
  ['sign-in code', signInCodeMail({ product: PRODUCT, code: '123456', minutes: 10 }), ['123456', '10 minutes']],
  [
    'email change code',
    emailChangeCodeMail({ product: PRODUCT, code: '654321', minutes: 10, email: 'new@example.com' }),
    ['654321', 'new@example.com', 'cannot be used to sign in'],
  ],
  ['passkey added', passkeyAddedNotice({ ...context, passkeyName: 'Work <laptop>' }), ['Work <laptop>', 'Chrome on macOS', '203.0.113.9']],
  [
    'email changed',
    emailChangedNotice({ ...context, oldEmail: 'old@example.com', newEmail: 'new@example.com' }),
    ['old@example.com', 'new@example.com', 'Chrome on macOS'],
  ],
  ['account deleted', accountDeletedNotice({ ...context, email: 'gone@example.com', byAdmin: false }), ['gone@example.com', 'Chrome on macOS']],
];

describe('mail templates', () => {
  for (const [name, mail, facts] of templates) {
    it(`${name}: a text part and an HTML part saying the same, escaped, with no link`, () => {
      expect(mail.subject).toContain(PRODUCT);
      expect(mail.subject).not.toMatch(/[\r\n]/);
      for (const fact of facts) {
        expect(mail.text).toContain(fact);
        expect(mail.html).toContain(escapeHtml(fact));
      }
      expect(mail.text).toContain(PRODUCT);
      expect(mail.html).toContain(escapeHtml(PRODUCT));
      // Nothing arrives unescaped: the only tags are the template's own.
      expect(mail.html).not.toContain('<b>&</b>');
      expect(mail.html).not.toContain('<laptop>');
      expect(mail.html).toMatch(/^<!doctype html>/);
      // No mail is a way in: no link, no URL, in either part.
      for (const part of [mail.text, mail.html]) {
        expect(part).not.toMatch(/https?:\/\//);
        expect(part).not.toMatch(/<a\b|href=/i);
      }
    });
  }

  it('shows a code large and easy to select, in both parts', () => {
    const mail = signInCodeMail({ product: 'Acme', code: '123456', minutes: 10 });
    expect(mail.subject).toBe('Your Acme sign-in code: 123456');
    expect(mail.text).toMatch(/^ {4}123456$/m);
    const span = /<span style="([^"]*)">123456<\/span>/.exec(mail.html);
    expect(span?.[1]).toContain('font-size:32px');
    expect(span?.[1]).toContain('user-select:all');
    expect(span?.[1]).toContain('monospace');
  });

  it('says when in UTC, and leaves an admin’s device out of a deletion notice', () => {
    expect(formatWhen(new Date('2026-12-01T10:57:31Z'))).toBe('1 December 2026, 10:57 UTC');
    const mail = accountDeletedNotice({ ...context, email: 'gone@example.com', byAdmin: true });
    expect(mail.text).toContain('An administrator');
    expect(mail.text).toContain('When: 1 December 2026, 10:57 UTC');
    expect(mail.text).not.toContain('Chrome on macOS');
    expect(mail.text).not.toContain('203.0.113.9');
  });
});

describe('mail as the server sends it', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({ RP_NAME: 'Acme Cloud' });
  });
  afterAll(() => t.close());

  it('names RP_NAME as the product in the sign-in code mail, with both parts', async () => {
    const email = uniqueEmail();
    const code = await t.requestCode(email);
    const mail = t.mailer.outbox.findLast((m) => m.to === email)!;
    expect(mail.subject).toBe(`Your Acme Cloud sign-in code: ${code}`);
    expect(mail.text).toContain(code);
    expect(mail.html).toContain(`>${code}</span>`);
    expect(mail.html).toContain('Acme Cloud');
  });

  it('reaches a real SMTP server as multipart text + HTML from MAIL_FROM (parsed by mailparser)', async () => {
    const sink = await startSmtpSink();
    const mailer = createSmtpMailer(sink.url, 'Acme Cloud <login@acme.example>');
    try {
      const to = uniqueEmail();
      await mailer.send({ to, ...signInCodeMail({ product: 'Acme Cloud', code: '424242', minutes: 10 }) });
      const received = await sink.waitFor(to);
      expect(received.from).toBe('login@acme.example');
      expect(received.fromHeader).toBe('"Acme Cloud" <login@acme.example>');
      expect(received.subject).toBe('Your Acme Cloud sign-in code: 424242');
      expect(received.text).toContain('Enter this code to sign in to Acme Cloud:');
      expect(received.text).toContain('424242');
      expect(received.html).toContain('>424242</span>');
      expect(received.html).toContain('<h1');
    } finally {
      await mailer.close();
      await sink.close();
    }
  });
});
