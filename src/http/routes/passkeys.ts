import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Deps } from '../../deps';
import { createAuthenticationOptions, verifyAuthentication } from '../../domain/passkeys/authentication';
import { createRegistrationOptions, deletePasskey, listPasskeys, verifyRegistration } from '../../domain/passkeys/passkeys';
import { requireSession } from '../auth';
import type { AppEnv } from '../env';
import { failure } from '../errors';
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

export const registerVerifyBody = z.object({
  name: z.string().trim().min(1).max(64),
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

/** Any string: an id that is not one of the caller's passkeys, malformed or not, is `404`. */
export const passkeyIdParam = z.object({ id: z.string() });

export function passkeyRoutes(deps: Deps) {
  const auth = requireSession(deps);
  return new Hono<AppEnv>()
    .post('/register/options', auth, async (c) => {
      const result = await createRegistrationOptions(deps, c.var.auth);
      if (!result.ok) return failure(c, result);
      return c.json(result.options, 200);
    })
    .post('/register/verify', auth, validate('json', registerVerifyBody), async (c) => {
      const { name, ...response } = c.req.valid('json');
      const result = await verifyRegistration(deps, c.var.auth, { name, response: response as RegistrationResponseJSON }, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json({ passkey: presentPasskey(result.passkey) }, 201);
    })
    .post('/authenticate/options', async (c) => {
      const result = await createAuthenticationOptions(deps, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json(result.options, 200);
    })
    .post('/authenticate/verify', validate('json', authenticateVerifyBody), async (c) => {
      const result = await verifyAuthentication(deps, c.req.valid('json') as AuthenticationResponseJSON, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json({ token: result.token, email: result.email, expiresAt: result.expiresAt.toISOString() }, 200);
    })
    .get('/', auth, async (c) => {
      const passkeys = await listPasskeys(deps, c.var.auth.user.id);
      return c.json({ passkeys: passkeys.map(presentPasskey) }, 200);
    })
    .delete('/:id', auth, validate('param', passkeyIdParam), async (c) => {
      const result = await deletePasskey(deps, c.var.auth, c.req.valid('param').id, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.body(null, 204);
    });
}
