import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import type { Deps } from '../../deps';
import { createAuthenticationOptions, verifyAuthentication } from '../../domain/passkeys/authentication';
import { createRegistrationOptions, deletePasskey, listPasskeys, renamePasskey, verifyRegistration } from '../../domain/passkeys/passkeys';
import { requireAuth } from '../auth';
import type { AppEnv } from '../env';
import { failure } from '../errors';
import { AUTHENTICATED, error, errors, json, noContent, PUBLIC } from '../openapi-docs';
import { AuthenticationOptions, PasskeyCreated, PasskeyList, PasskeySignInToken, RegistrationOptions } from '../openapi-schemas';
import { displayName } from '../schemas';
import { presentPasskey } from '../present';
import { validate } from '../validate';

const base64url = z.string().max(16_384).regex(/^[A-Za-z0-9_-]*={0,2}$/, 'must be base64url');

/** The JSON of a `PublicKeyCredential` as @simplewebauthn/browser (or `toJSON()`) sends it. */
const credential = {
  // Credential ids are at most 1023 bytes.
  id: base64url.min(1).max(1400),
  rawId: base64url.min(1).max(1400),
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.looseObject({}).default({}),
};

/** A passkey's name: 1–64 characters once trimmed, no control or bidirectional formatting characters. */
const passkeyName = displayName;

export const registerVerifyBody = z.object({
  // Optional: without it the passkey is named after its provider or the browser (domain/passkeys/names.ts).
  name: passkeyName.optional(),
  ...credential,
  response: z.looseObject({
    clientDataJSON: base64url.min(1),
    attestationObject: base64url.min(1),
    transports: z.array(z.string().max(32)).max(10).optional(),
  }),
});

export const authenticateVerifyBody = z.object({
  ...credential,
  response: z.looseObject({
    clientDataJSON: base64url.min(1),
    authenticatorData: base64url.min(1),
    signature: base64url.min(1),
    userHandle: base64url.max(256).optional(),
  }),
});

export const renamePasskeyBody = z.object({ name: passkeyName });

/** Any string: an id that is not one of the caller's passkeys, malformed or not, is `404`. */
export const passkeyIdParam = z.object({ id: z.string() });

const REAUTHENTICATE = error(
  403,
  'reauthentication_required: the session is more than 10 minutes old, sign in again; forbidden: a cookie-authenticated request from an origin that is not allowed.',
);

const docs = {
  registerOptions: describeRoute({
    operationId: 'createRegistrationOptions',
    summary: 'Start registering a passkey: WebAuthn creation options',
    tags: ['passkeys'],
    security: AUTHENTICATED,
    responses: { 200: json('PublicKeyCredentialCreationOptionsJSON.', RegistrationOptions), ...errors(401, 503), 403: REAUTHENTICATE },
  }),
  registerVerify: describeRoute({
    operationId: 'verifyRegistration',
    summary: 'Finish registering a passkey',
    tags: ['passkeys'],
    security: AUTHENTICATED,
    responses: {
      201: json('Registered.', PasskeyCreated),
      ...errors(401, 413, 503),
      400: error(400, 'invalid_request; invalid_passkey: verification failed, the challenge is unknown, used or expired, or the passkey is registered already.'),
      403: REAUTHENTICATE,
    },
  }),
  authenticateOptions: describeRoute({
    operationId: 'createAuthenticationOptions',
    summary: 'Start a passkey sign-in: WebAuthn request options',
    tags: ['passkeys'],
    security: PUBLIC,
    responses: {
      200: json('PublicKeyCredentialRequestOptionsJSON for a discoverable credential.', AuthenticationOptions),
      ...errors(503),
      429: error(429, 'rate_limited: too many sign-in attempts from this client IP.'),
    },
  }),
  authenticateVerify: describeRoute({
    operationId: 'verifyAuthentication',
    summary: 'Finish a passkey sign-in: a single-use token for POST /auth/sessions',
    tags: ['passkeys'],
    security: PUBLIC,
    responses: {
      200: json('A sign-in token, valid 5 minutes.', PasskeySignInToken),
      ...errors(400, 413, 503),
      401: error(401, 'unauthorized: an unknown credential, a bad signature, a replayed or expired challenge, a wrong origin or rp id.'),
      429: error(429, 'rate_limited: too many failed sign-ins from this client IP.'),
    },
  }),
  list: describeRoute({
    operationId: 'listPasskeys',
    summary: "The caller's passkeys",
    tags: ['passkeys'],
    security: AUTHENTICATED,
    responses: { 200: json('The passkeys.', PasskeyList), ...errors(401, 503) },
  }),
  rename: describeRoute({
    operationId: 'renamePasskey',
    summary: 'Rename one of the caller’s passkeys (no fresh session needed)',
    tags: ['passkeys'],
    security: AUTHENTICATED,
    responses: {
      200: json('Renamed.', PasskeyCreated),
      ...errors(400, 401, 403, 413, 503),
      404: error(404, "not_found: not one of the caller's passkeys."),
    },
  }),
  delete: describeRoute({
    operationId: 'deletePasskey',
    summary: 'Delete one of the caller’s passkeys',
    tags: ['passkeys'],
    security: AUTHENTICATED,
    responses: {
      204: noContent('Deleted.'),
      ...errors(400, 401, 503),
      403: REAUTHENTICATE,
      404: error(404, "not_found: not one of the caller's passkeys."),
    },
  }),
};

export function passkeyRoutes(deps: Deps) {
  const auth = requireAuth(deps, { accept: ['session'] });
  return new Hono<AppEnv>()
    .post('/register/options', docs.registerOptions, auth, async (c) => {
      const result = await createRegistrationOptions(deps, c.var.auth);
      if (!result.ok) return failure(c, result);
      return c.json(result.options, 200);
    })
    .post('/register/verify', docs.registerVerify, auth, validate('json', registerVerifyBody), async (c) => {
      const { name, ...response } = c.req.valid('json');
      const result = await verifyRegistration(deps, c.var.auth, { name, response: response as RegistrationResponseJSON }, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json({ passkey: presentPasskey(result.passkey) }, 201);
    })
    .post('/authenticate/options', docs.authenticateOptions, async (c) => {
      const result = await createAuthenticationOptions(deps, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json(result.options, 200);
    })
    .post('/authenticate/verify', docs.authenticateVerify, validate('json', authenticateVerifyBody), async (c) => {
      const result = await verifyAuthentication(deps, c.req.valid('json') as AuthenticationResponseJSON, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json({ token: result.token, email: result.email, expiresAt: result.expiresAt.toISOString() }, 200);
    })
    .get('/', docs.list, auth, async (c) => {
      const passkeys = await listPasskeys(deps, c.var.auth.user.id);
      return c.json({ passkeys: passkeys.map(presentPasskey) }, 200);
    })
    .patch('/:id', docs.rename, auth, validate('param', passkeyIdParam), validate('json', renamePasskeyBody), async (c) => {
      const result = await renamePasskey(deps, c.var.auth, c.req.valid('param').id, c.req.valid('json').name, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json({ passkey: presentPasskey(result.passkey) }, 200);
    })
    .delete('/:id', docs.delete, auth, validate('param', passkeyIdParam), async (c) => {
      const result = await deletePasskey(deps, c.var.auth, c.req.valid('param').id, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.body(null, 204);
    });
}
