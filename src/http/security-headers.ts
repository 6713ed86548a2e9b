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
 * What `securityHeaders(config)` puts on an answer whose route set none of them, as a record:
 * for a runtime that writes them on every answer itself, more cheaply than through `Headers`
 * (Node's adapter, see `fixedResponseHeaders` in app.ts). A test holds it equal to what hono's
 * `secureHeaders` writes with the options above.
 */
export function securityHeaderRecord(config: Pick<Config, 'issuer'>): Record<string, string> {
  return {
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Origin-Agent-Cluster': '?1',
    'Referrer-Policy': 'no-referrer',
    ...(config.issuer.startsWith('https:') && { 'Strict-Transport-Security': 'max-age=31536000; includeSubDomains' }),
    'X-Content-Type-Options': 'nosniff',
    'X-DNS-Prefetch-Control': 'off',
    'X-Download-Options': 'noopen',
    'X-Frame-Options': 'DENY',
    'X-Permitted-Cross-Domain-Policies': 'none',
    'X-XSS-Protection': '0',
    'Content-Security-Policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  };
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
