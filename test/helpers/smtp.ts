import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string[];
  from: string;
  subject: string;
  text: string;
  /** The HTML part, when the mail has one. */
  html: string | null;
  /** The From header. */
  fromHeader: string;
}

/** A real SMTP server on loopback that hands every mail it receives, parsed, to `onMail`. */
export async function listenSmtp(onMail: (mail: ReceivedMail) => void): Promise<{
  url: string;
  /** Connections made so far, and those still open. */
  connections(): { opened: number; open: number };
  close(): Promise<void>;
}> {
  const connections = { opened: 0, open: 0 };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(_session, callback) {
      connections.opened++;
      connections.open++;
      callback();
    },
    onClose() {
      connections.open--;
    },
    onData(stream, session, callback) {
      // Text and HTML as sent; no derived forms (text as HTML, links), which nothing reads.
      simpleParser(stream, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true, skipTextLinks: true })
        .then((parsed) => {
          onMail({
            to: session.envelope.rcptTo.map((r) => r.address),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : null,
            fromHeader: parsed.from?.text ?? '',
          });
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    connections: () => ({ ...connections }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A real SMTP server on loopback that keeps what it receives. */
export async function startSmtpSink(): Promise<{
  url: string;
  mails: ReceivedMail[];
  waitFor(to: string): Promise<ReceivedMail>;
  /** Connections made so far, and those still open. */
  connections(): { opened: number; open: number };
  close(): Promise<void>;
}> {
  const mails: ReceivedMail[] = [];
  const waiters: (() => void)[] = [];
  const smtp = await listenSmtp((mail) => {
    mails.push(mail);
    waiters.splice(0).forEach((wake) => wake());
  });
  return {
    ...smtp,
    mails,
    async waitFor(to) {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const mail = mails.find((m) => m.to.includes(to));
        if (mail) return mail;
        if (Date.now() > deadline) throw new Error(`no mail for ${to} within 15 s`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 500);
        });
      }
    },
  };
}
