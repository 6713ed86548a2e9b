import { z } from 'zod';

/*
 * Zod schemas of the response bodies, as src/http/present.ts builds them and the contract
 * (API.md) names them. They exist for the OpenAPI document only: the routes' describeRoute()
 * entries point at them, and `.meta({ id })` makes each named shape one component.
 */

const timestamp = z.string().meta({ format: 'date-time', description: 'ISO-8601 UTC' });
const identityHex = z.string().regex(/^[0-9a-f]{64}$/).describe('A SpacetimeDB identity: 64 lower-case hex digits.');

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().describe('snake_case, e.g. invalid_request, unauthorized, forbidden, not_found, invalid_code, rate_limited'),
      message: z.string().describe('Human-readable explanation.'),
      issues: z
        .array(z.object({ path: z.string(), message: z.string(), code: z.string().optional() }))
        .optional()
        .describe('With invalid_request: what failed validation.'),
    }),
  })
  .meta({ id: 'Error' });

export const User = z
  .object({
    id: z.string(),
    identity: identityHex,
    email: z.string().nullable().describe('Null for an anonymous SpacetimeDB account.'),
    role: z.enum(['user', 'admin']),
    createdAt: timestamp,
  })
  .meta({ id: 'User' });

export const Session = z
  .object({
    id: z.string(),
    method: z.enum(['otp', 'passkey']),
    createdAt: timestamp,
    lastActiveAt: timestamp,
    expiresAt: timestamp,
    ipAddress: z.string().nullable(),
    userAgent: z.string().nullable(),
    current: z.boolean().describe('True for the session that made this request.'),
  })
  .meta({ id: 'Session' });

export const Passkey = z
  .object({
    id: z.string(),
    name: z.string(),
    createdAt: timestamp,
    lastUsedAt: timestamp.nullable(),
    deviceType: z.string().describe('singleDevice or multiDevice, as WebAuthn reports it.'),
    backedUp: z.boolean(),
    transports: z.array(z.string()),
  })
  .meta({ id: 'Passkey' });

/** A user's profile; the URL and the contract call it an identity. */
export const Profile = z
  .object({
    id: z.string(),
    displayName: z.string(),
    handle: z.string(),
    email: z.string().nullable(),
    birthday: z.string().nullable().describe('YYYY-MM-DD'),
    avatarUrl: z.string().nullable(),
    bannerUrl: z.string().nullable().describe('An http(s) URL or a hex colour.'),
    isPrimary: z.boolean(),
    createdAt: timestamp,
  })
  .meta({ id: 'Profile' });

export const Activity = z
  .object({
    id: z.string().describe('Pass as ?before= to read older entries.'),
    action: z.string(),
    severity: z.enum(['info', 'warning', 'critical']),
    ipAddress: z.string().nullable(),
    userAgent: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    createdAt: timestamp,
  })
  .meta({ id: 'Activity' });

const nextCursor = z.string().nullable().describe('Pass as ?before= for the next page; null on the last one.');

export const CodeSent = z.object({ expiresAt: timestamp }).meta({ id: 'CodeSent' });
export const SignedIn = z
  .object({ token: z.string().describe('The session token, for Authorization: Bearer.'), session: Session, user: User })
  .meta({ id: 'SignedIn' });
export const SessionList = z.object({ sessions: z.array(Session) });
export const CurrentSession = z.object({ session: Session, user: User });
export const PermissionList = z.object({ permissions: z.array(z.string()) });

/** WebAuthn options as @simplewebauthn/server makes them: loose, a browser library reads them. */
export const RegistrationOptions = z
  .looseObject({ challenge: z.string(), rp: z.looseObject({ name: z.string() }), user: z.looseObject({ id: z.string(), name: z.string() }) })
  .meta({ id: 'PublicKeyCredentialCreationOptionsJSON' });
export const AuthenticationOptions = z
  .looseObject({ challenge: z.string() })
  .meta({ id: 'PublicKeyCredentialRequestOptionsJSON' });
export const PasskeyCreated = z.object({ passkey: Passkey });
export const PasskeyList = z.object({ passkeys: z.array(Passkey) });
export const PasskeySignInToken = z.object({
  token: z.string().describe("For POST /auth/sessions with method 'passkey'."),
  email: z.string(),
  expiresAt: timestamp,
});

export const ProfileList = z.object({ identities: z.array(Profile) });
export const OneProfile = z.object({ identity: Profile });
export const Success = z.object({ success: z.literal(true) });

export const ActivityPage = z.object({ activity: z.array(Activity), next: nextCursor });
export const UserPage = z.object({ users: z.array(User), next: nextCursor });
export const RevokedCount = z.object({ revoked: z.number().int().min(0) });

export const IdentityToken = z.object({ identity: identityHex, token: z.string().describe('A long-lived identity token (JWT).') });
export const WebsocketToken = z.object({ token: z.string().describe('A JWT valid for 60 seconds.') });
export const EmailSet = z.object({ identity: identityHex, email: z.string() });
export const DatabaseList = z.object({ addresses: z.array(z.string()) });
export const IdentitiesByEmail = z.object({
  identities: z.array(z.object({ identity: identityHex, email: z.string(), verified: z.boolean() })),
});

export const OpenIdConfiguration = z.looseObject({
  issuer: z.string(),
  jwks_uri: z.string(),
  authorization_endpoint: z.string(),
  token_endpoint: z.string(),
  userinfo_endpoint: z.string(),
  end_session_endpoint: z.string(),
  revocation_endpoint: z.string(),
  response_types_supported: z.array(z.string()),
  response_modes_supported: z.array(z.string()),
  grant_types_supported: z.array(z.string()),
  code_challenge_methods_supported: z.array(z.string()),
  scopes_supported: z.array(z.string()),
  token_endpoint_auth_methods_supported: z.array(z.string()),
  subject_types_supported: z.array(z.string()),
  id_token_signing_alg_values_supported: z.array(z.string()),
  authorization_response_iss_parameter_supported: z.boolean(),
  claims_supported: z.array(z.string()),
});

/** The OAuth 2.0 error body (RFC 6749 §5.2) of the /oauth/* endpoints, instead of the API's error shape. */
export const OAuthErrorBody = z
  .object({
    error: z.string().describe('invalid_request, invalid_client, invalid_grant, unsupported_grant_type, invalid_token, …'),
    error_description: z.string().describe('Human-readable explanation.'),
  })
  .meta({ id: 'OAuthError' });

export const OAuthClient = z
  .object({
    id: z.string(),
    name: z.string(),
    redirectUris: z.array(z.string()),
    postLogoutRedirectUris: z.array(z.string()),
    type: z.enum(['public', 'confidential']),
    source: z.enum(['config', 'admin']).describe('`config`: from OIDC_CLIENTS (not deletable here); `admin`: registered through this API.'),
  })
  .meta({ id: 'OAuthClient' });
export const OAuthClientList = z.object({ clients: z.array(OAuthClient) });
export const OAuthClientCreated = z.object({
  client: OAuthClient,
  secret: z.string().optional().describe('A confidential client’s secret: shown this once, stored only as a hash.'),
});

export const TokenResponse = z.object({
  access_token: z.string().describe('A JWT (typ at+jwt) for /oauth/userinfo only.'),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  id_token: z.string().describe('ES256 JWT; aud is the client id.'),
  scope: z.string(),
  refresh_token: z.string().optional().describe('With scope offline_access; rotated on every use.'),
});
export const UserinfoBody = z.object({
  sub: z.string(),
  hex_identity: identityHex,
  email: z.string().optional(),
  email_verified: z.boolean().optional(),
  name: z.string().optional(),
  preferred_username: z.string().optional(),
  picture: z.string().optional(),
});
export const Jwks = z.object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string() })) });
export const HealthStatus = z.object({ status: z.literal('ok') });
/** The OpenAPI document itself: an object, described by the OpenAPI specification rather than here. */
export const OpenApiDocumentBody = z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) });
