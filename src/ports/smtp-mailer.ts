import nodemailer from 'nodemailer';
import type { Mailer } from './mailer';

/** Sends through an SMTP server given as `smtp://user:pass@host:port` or `smtps://…`. */
export function createSmtpMailer(smtpUrl: string, from: string): Mailer & { close(): void } {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    async send(mail) {
      await transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text });
    },
    close: () => transport.close(),
  };
}
