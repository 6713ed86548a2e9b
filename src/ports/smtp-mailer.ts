import nodemailer from 'nodemailer';
import type { Mailer } from './mailer';

export interface SmtpMailerOptions {
  /**
   * Keep up to this many connections open and send every mail over them, instead of one
   * connection (connect, greet, authenticate, quit) per mail. Only where sockets outlive a
   * request: the Node server. Workers cannot share a socket between requests, so they leave it unset.
   */
  pool?: number;
}

/** Sends through an SMTP server given as `smtp://user:pass@host:port` or `smtps://…`. */
export function createSmtpMailer(smtpUrl: string, from: string, options: SmtpMailerOptions = {}): Mailer & { close(): Promise<void> } {
  const transport = options.pool
    ? nodemailer.createTransport({ url: smtpUrl, pool: true, maxConnections: options.pool })
    : nodemailer.createTransport(smtpUrl);
  const sending = new Set<Promise<unknown>>();
  return {
    async send(mail) {
      const sent = transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, ...(mail.html ? { html: mail.html } : {}) });
      sending.add(sent);
      try {
        await sent;
      } finally {
        sending.delete(sent);
      }
    },
    /**
     * Ends every connection once the mails being sent are through; with none in flight (the Node
     * server waits for its mail before closing), at once.
     */
    close() {
      if (sending.size === 0) {
        transport.close();
        return Promise.resolve();
      }
      return Promise.allSettled(sending).then(() => transport.close());
    },
  };
}
