import { describe, expect, it } from 'vitest';
import { createSmtpMailer } from '../src/ports/smtp-mailer';
import { startSmtpSink } from './helpers/smtp';

const mail = (i: number) => ({ to: `pool-${i}@example.com`, subject: `Mail ${i}`, text: `Body ${i}\n` });

async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within 10 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('SMTP mailer', () => {
  it('with a pool, sends many mails over a few connections, and every one arrives', async () => {
    const sink = await startSmtpSink();
    const mailer = createSmtpMailer(sink.url, 'auth@example.test', { pool: 3 });
    try {
      await Promise.all(Array.from({ length: 12 }, (_, i) => mailer.send(mail(i))));
      // A second burst re-uses the open connections.
      await Promise.all(Array.from({ length: 12 }, (_, i) => mailer.send(mail(12 + i))));
      expect(sink.mails).toHaveLength(24);
      for (let i = 0; i < 24; i++) {
        const received = sink.mails.find((m) => m.to.includes(`pool-${i}@example.com`));
        expect(received?.subject).toBe(`Mail ${i}`);
        expect(received?.text).toBe(`Body ${i}\n`);
        expect(received?.from).toBe('auth@example.test');
      }
      expect(sink.connections().opened).toBeLessThanOrEqual(3);
      expect(sink.connections().open).toBeGreaterThan(0);
    } finally {
      await mailer.close();
      await sink.close();
    }
  });

  it('without a pool, opens one connection per mail (Workers)', async () => {
    const sink = await startSmtpSink();
    const mailer = createSmtpMailer(sink.url, 'auth@example.test');
    try {
      for (let i = 0; i < 3; i++) await mailer.send(mail(i));
      expect(sink.mails).toHaveLength(3);
      expect(sink.connections().opened).toBe(3);
    } finally {
      await mailer.close();
      await sink.close();
    }
  });

  it('close() lets the mails in flight arrive, then ends the pooled connections', async () => {
    const sink = await startSmtpSink();
    const mailer = createSmtpMailer(sink.url, 'auth@example.test', { pool: 3 });
    try {
      const sends = Array.from({ length: 6 }, (_, i) => mailer.send(mail(i)));
      await mailer.close();
      await Promise.all(sends);
      expect(sink.mails).toHaveLength(6);
      await eventually(() => sink.connections().open === 0, 'the pooled connections are closed');
      expect(sink.connections().opened).toBeGreaterThan(0);
    } finally {
      await sink.close();
    }
  });
});
