import type { Deps, RequestMeta } from '../../deps';
import type { MailContent } from '../../mail/layout';
import type { ChangeContext } from '../../mail/templates';
import { describeUserAgent } from '../user-agent';

/**
 * Mails `content` to `to` after the response (the answer never waits for the mail server); a
 * failed send is logged as `failure`, with the error, and otherwise changes nothing.
 */
export function sendMail(deps: Pick<Deps, 'mailer' | 'background' | 'log'>, to: string, content: MailContent, failure: string): void {
  deps.background(
    deps.mailer.send({ to, ...content }).catch((error: unknown) => deps.log.log('error', failure, { error: String(error) })),
  );
}

/** When, from which device and address a change was made, for a security notice. */
export function changeContext(deps: Pick<Deps, 'config' | 'clock'>, meta: RequestMeta): ChangeContext {
  return {
    product: deps.config.rpName,
    at: deps.clock.now(),
    device: describeUserAgent(meta.userAgent) ?? 'an unknown device',
    ipAddress: meta.ipAddress,
  };
}
