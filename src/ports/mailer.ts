import type { Logger } from './logger';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  /** The same words as `text`, as HTML (src/mail/); sent as the alternative part. */
  html?: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
}

/**
 * The development mailer used when no `SMTP_URL` is set: it prints each mail, code included,
 * to the log so that a local sign-in needs no mail server. Never used in production.
 */
export function createLogMailer(log: Logger): Mailer {
  return {
    async send(mail) {
      log.log('info', 'mail (development mailer: set SMTP_URL to send real mail)', {
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
      });
    },
  };
}

/** Keeps mails in memory; for tests and embedding. */
export function createOutboxMailer(): Mailer & { outbox: Mail[] } {
  const outbox: Mail[] = [];
  return {
    outbox,
    async send(mail) {
      outbox.push(mail);
    },
  };
}
