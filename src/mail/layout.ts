/*
 * The one look of every mail: a plain-text part people and filters read, and an HTML part with
 * the same words. Templates (templates.ts) say what a mail says; this file says how it looks.
 * Every value that reaches the HTML goes through `escapeHtml`. No mail carries a link: a mail is
 * never a way to sign in, so a forwarded or phished one gives nobody an account.
 */

/** A rendered mail, before the mailer adds sender and recipient. */
export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

/** What a mail says, in order: a heading, paragraphs, an optional code, a list of facts, a footer. */
export interface MailBody {
  /** The product's name (`RP_NAME`): sender of record in the header and the footer. */
  product: string;
  subject: string;
  heading: string;
  intro: string[];
  /** A one-time code, shown large and easy to select. */
  code?: string;
  /** Label/value lines ("When", "Device"). */
  facts?: [label: string, value: string][];
  outro: string[];
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Renders a mail's text and HTML parts from what it says. */
export function renderMail(body: MailBody): MailContent {
  return { subject: body.subject, text: renderText(body), html: renderHtml(body) };
}

function renderText(body: MailBody): string {
  const blocks: string[] = [body.heading, ...body.intro];
  if (body.code) blocks.push(`    ${body.code}`);
  if (body.facts?.length) blocks.push(body.facts.map(([label, value]) => `${label}: ${value}`).join('\n'));
  blocks.push(...body.outro, `— ${body.product}`);
  return `${blocks.join('\n\n')}\n`;
}

const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";

function renderHtml(body: MailBody): string {
  const p = (text: string) => `<p style="margin:0 0 16px;font-size:16px;line-height:24px;color:#1f2328">${escapeHtml(text)}</p>`;
  const code = body.code
    ? `<p style="margin:8px 0 24px"><span style="display:inline-block;padding:12px 20px;border-radius:8px;background:#f6f8fa;border:1px solid #d0d7de;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:32px;line-height:40px;letter-spacing:6px;font-weight:700;color:#1f2328;user-select:all;-webkit-user-select:all">${escapeHtml(body.code)}</span></p>`
    : '';
  const facts = body.facts?.length
    ? `<table role="presentation" cellpadding="0" cellspacing="0" style="margin:0 0 16px;font-size:15px;line-height:22px;color:#1f2328">${body.facts
        .map(
          ([label, value]) =>
            `<tr><td style="padding:2px 16px 2px 0;color:#656d76;vertical-align:top">${escapeHtml(label)}</td><td style="padding:2px 0">${escapeHtml(value)}</td></tr>`,
        )
        .join('')}</table>`
    : '';
  return [
    '<!doctype html>',
    `<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(body.subject)}</title></head>`,
    `<body style="margin:0;padding:0;background:#f6f8fa;font-family:${FONT}">`,
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f6f8fa;padding:24px 12px"><tr><td align="center">',
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:520px;background:#ffffff;border:1px solid #d0d7de;border-radius:12px">',
    `<tr><td style="padding:20px 28px;border-bottom:1px solid #d0d7de;font-size:15px;font-weight:600;color:#1f2328">${escapeHtml(body.product)}</td></tr>`,
    '<tr><td style="padding:28px">',
    `<h1 style="margin:0 0 16px;font-size:22px;line-height:30px;color:#1f2328">${escapeHtml(body.heading)}</h1>`,
    ...body.intro.map(p),
    code,
    facts,
    ...body.outro.map(p),
    '</td></tr></table>',
    `<p style="margin:16px 0 0;font-size:13px;color:#656d76">${escapeHtml(body.product)}</p>`,
    '</td></tr></table></body></html>',
    '',
  ].join('\n');
}
