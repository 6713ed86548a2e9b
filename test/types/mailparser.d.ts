// The part of mailparser's API the test SMTP sink uses (the package ships no types).
declare module 'mailparser' {
  import type { Readable } from 'node:stream';
  export interface ParsedMail {
    subject?: string;
    text?: string;
    html?: string | false;
    from?: { text: string };
  }
  /** What the parser may leave out (mailparser's own option names). */
  export interface ParserOptions {
    skipHtmlToText?: boolean;
    skipTextToHtml?: boolean;
    skipImageLinks?: boolean;
    skipTextLinks?: boolean;
  }
  export function simpleParser(source: Readable | Buffer | string, options?: ParserOptions): Promise<ParsedMail>;
}
