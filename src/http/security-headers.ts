import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { Config } from '../config';

type Policy = NonNullable<NonNullable<Parameters<typeof secureHeaders>[0]>['contentSecurityPolicy']>;

/** What every response may load or be framed by: nothing. A JSON answer opened as a page runs nothing. */
const LOCKED: Policy = {
  defaultSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
};

/**
 * The headers every response carries (`nosniff`, `Referrer-Policy: no-referrer`, no framing, a
 * CSP that allows nothing) and, with an https `ISSUER`, HSTS. Headers a route set itself are kept,
 * so a page widens the CSP with `pagePolicy` and nothing else has to remember to lock it.
 */
export function securityHeaders(config: Pick<Config, 'issuer'>): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy: LOCKED,
    xFrameOptions: 'DENY',
    strictTransportSecurity: config.issuer.startsWith('https:') ? 'max-age=31536000; includeSubDomains' : false,
    overwrite: false,
  });
}

/**
 * An HTML page's Content-Security-Policy: `LOCKED` plus what the page needs (its scripts from
 * this origin, its inline styles). Framing stays refused.
 */
export function pagePolicy(allow: Omit<Policy, 'frameAncestors'>): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy: { ...LOCKED, ...allow },
    crossOriginResourcePolicy: false,
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    referrerPolicy: false,
    strictTransportSecurity: false,
    xContentTypeOptions: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xFrameOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  });
}
