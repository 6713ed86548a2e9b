import { listenSmtp } from '../../test/helpers/smtp';

/**
 * A real SMTP server on loopback that both auth servers mail their codes to. Each mail is
 * parsed (mailparser) and the first 6-digit number of its text is handed to whoever waits for
 * that recipient, in arrival order.
 */
export async function startSmtpSink(): Promise<{ url: string; nextCode(to: string, timeoutMs?: number): Promise<string>; received(): number; close(): Promise<void> }> {
  const queued = new Map<string, string[]>();
  const waiting = new Map<string, ((code: string) => void)[]>();
  let count = 0;
  const deliver = (to: string, code: string) => {
    const waiter = waiting.get(to)?.shift();
    if (waiter) waiter(code);
    else queued.set(to, [...(queued.get(to) ?? []), code]);
  };
  const smtp = await listenSmtp((mail) => {
    count++;
    const code = mail.text.match(/\b(\d{6})\b/)?.[1];
    if (code) for (const to of mail.to) deliver(to.toLowerCase(), code);
  });
  return {
    url: smtp.url,
    received: () => count,
    nextCode(to, timeoutMs = 15_000) {
      const key = to.toLowerCase();
      const ready = queued.get(key)?.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          const list = waiting.get(key) ?? [];
          list.splice(list.indexOf(wake), 1);
          reject(new Error(`no code was mailed to ${to} within ${timeoutMs} ms`));
        }, timeoutMs);
        const wake = (code: string) => {
          clearTimeout(timer);
          resolve(code);
        };
        waiting.set(key, [...(waiting.get(key) ?? []), wake]);
      });
    },
    close: smtp.close,
  };
}
