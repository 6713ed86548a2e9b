// mailparser ships no types and @types/mailparser is not installed: the part this test uses.
declare module 'mailparser' {
  export function simpleParser(source: NodeJS.ReadableStream | string | Buffer): Promise<{ text?: string; subject?: string }>;
}
