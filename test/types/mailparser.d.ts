// The part of mailparser's API the test SMTP sink uses (the package ships no types).
declare module 'mailparser' {
  import type { Readable } from 'node:stream';
  export interface ParsedMail {
    subject?: string;
    text?: string;
    html?: string | false;
    from?: { text: string };
  }
  export function simpleParser(source: Readable | Buffer | string): Promise<ParsedMail>;
}
