import { renderMail, type MailContent } from './layout';

/*
 * Every mail the server sends, one function each: change the words here, the look in layout.ts.
 * `product` is RP_NAME. Security notices say what happened, when and from which device, and
 * carry no link: they are news, never a way in.
 */

/** Where and when a change was made, as the notices show it. */
export interface ChangeContext {
  product: string;
  at: Date;
  /** A summary of the user agent, e.g. "Chrome on macOS"; "an unknown device" when there is none. */
  device: string;
  ipAddress: string | null;
}

/** "1 December 2026, 10:57 UTC": unambiguous wherever the reader is. */
export function formatWhen(at: Date): string {
  const date = at.toLocaleDateString('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'long', year: 'numeric' });
  const time = at.toLocaleTimeString('en-GB', { timeZone: 'UTC', hour: '2-digit', minute: '2-digit', hour12: false });
  return `${date}, ${time} UTC`;
}

function changeFacts(context: ChangeContext): [string, string][] {
  const facts: [string, string][] = [
    ['When', formatWhen(context.at)],
    ['Device', context.device],
  ];
  if (context.ipAddress) facts.push(['IP address', context.ipAddress]);
  return facts;
}

const NOT_YOU = 'If this was not you, sign in with your email or another passkey, remove what you do not recognise and sign out your other sessions.';

export function signInCodeMail(input: { product: string; code: string; minutes: number }): MailContent {
  return renderMail({
    product: input.product,
    subject: `Your ${input.product} sign-in code: ${input.code}`,
    heading: 'Your sign-in code',
    intro: [`Enter this code to sign in to ${input.product}:`],
    code: input.code,
    outro: [
      `It expires in ${input.minutes} minutes and works once. Nobody from ${input.product} will ever ask you for it.`,
      'If you did not ask for it, you can ignore this email: nobody can sign in without the code.',
    ],
  });
}

export function emailChangeCodeMail(input: { product: string; code: string; minutes: number; email: string }): MailContent {
  return renderMail({
    product: input.product,
    subject: `Confirm your new ${input.product} email: ${input.code}`,
    heading: 'Confirm your new email address',
    intro: [`Enter this code in ${input.product} to confirm your new email address:`],
    code: input.code,
    outro: [
      `Someone signed in to a ${input.product} account asked to use ${input.email} for it. The code expires in ${input.minutes} minutes, works once, and cannot be used to sign in.`,
      'If you did not ask for this, ignore this email: the address is not changed without the code.',
    ],
  });
}

export function passkeyAddedNotice(input: ChangeContext & { passkeyName: string }): MailContent {
  return renderMail({
    product: input.product,
    subject: `A passkey was added to your ${input.product} account`,
    heading: 'A new passkey was added',
    intro: [`The passkey “${input.passkeyName}” can now sign in to your ${input.product} account.`],
    facts: changeFacts(input),
    outro: [NOT_YOU],
  });
}

export function emailChangedNotice(input: ChangeContext & { oldEmail: string; newEmail: string }): MailContent {
  return renderMail({
    product: input.product,
    subject: `Your ${input.product} email address was changed`,
    heading: 'Your email address was changed',
    intro: [
      `Your ${input.product} account now uses ${input.newEmail} instead of ${input.oldEmail}.`,
      `Codes for ${input.oldEmail} no longer sign in to this account.`,
    ],
    facts: changeFacts(input),
    outro: [`If this was not you, sign in with a passkey, change the address back and sign out your other sessions, or contact the operator of ${input.product}.`],
  });
}

export function accountDeletedNotice(input: ChangeContext & { email: string; byAdmin: boolean }): MailContent {
  return renderMail({
    product: input.product,
    subject: `Your ${input.product} account was deleted`,
    heading: 'Your account was deleted',
    intro: [
      input.byAdmin
        ? `An administrator of ${input.product} deleted the account of ${input.email}.`
        : `The ${input.product} account of ${input.email} was deleted, with its passkeys, sessions and profiles.`,
      `Signing in with ${input.email} again creates a new, empty account.`,
    ],
    // An administrator's device and address are not the account holder's business.
    facts: input.byAdmin ? [['When', formatWhen(input.at)]] : changeFacts(input),
    outro: [`If this was not you, contact the operator of ${input.product}.`],
  });
}
