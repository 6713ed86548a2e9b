import type { Config } from '../../config';

/**
 * The origins a WebAuthn ceremony may come from: the allowed browser origins (`ORIGIN`) and the
 * server's own (`ISSUER`'s), where the hosted sign-in page runs, when `RP_ID` covers its host —
 * a browser refuses a ceremony for an RP ID that does not, so an uncovered ISSUER adds nothing.
 */
export function passkeyOrigins(config: Pick<Config, 'origins' | 'issuer' | 'rpId'>): string[] {
  const issuer = new URL(config.issuer);
  const covered = issuer.hostname === config.rpId || issuer.hostname.endsWith(`.${config.rpId}`);
  return covered && !config.origins.includes(issuer.origin) ? [...config.origins, issuer.origin] : config.origins;
}
