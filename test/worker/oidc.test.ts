import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { request, signIn } from './client';

const form = (fields: Record<string, string>) => ({
  body: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});

// The OpenID Connect provider on Workers: a client registered through the admin API, the code
// flow with a session cookie, refresh rotation and userinfo, all against the real worker bundle.
describe('the OpenID Connect provider on Workers', () => {
  it('registers a client, issues a code, redeems it, rotates the refresh token and answers userinfo', async () => {
    const admin = await signIn('boss@example.com');
    const redirectUri = 'https://worker-app.example.test/cb';
    const created = await request('POST', '/admin/clients', { token: admin.token, body: { name: 'Worker app', redirectUris: [redirectUri], type: 'public' } });
    expect(created.status).toBe(201);
    const clientId: string = created.body.client.id;

    const user = await signIn();
    const verifier = randomBytes(32).toString('base64url');
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      scope: 'openid email offline_access',
      state: 'st',
      nonce: 'nn',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
    const page = await request('GET', `/oauth/authorize?${query}`);
    expect(page.status).toBe(200);
    const authorized = await request('GET', `/oauth/authorize?${query}`, { headers: { cookie: `session=${user.token}` } });
    expect(authorized.status).toBe(302);
    const location = new URL(authorized.headers.get('location')!);
    expect(location.searchParams.get('state')).toBe('st');

    const tokens = await request('POST', '/oauth/token', form({ grant_type: 'authorization_code', code: location.searchParams.get('code')!, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier }));
    expect(tokens.status).toBe(200);
    expect(decodeJwt(tokens.body.id_token)).toMatchObject({ sub: user.user.id, aud: clientId, nonce: 'nn', email: user.email, hex_identity: user.user.identity });

    const userinfo = await request('GET', '/oauth/userinfo', { token: tokens.body.access_token });
    expect(userinfo.status).toBe(200);
    expect(userinfo.body).toMatchObject({ sub: user.user.id, email: user.email });

    const refreshed = await request('POST', '/oauth/token', form({ grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: clientId }));
    expect(refreshed.status).toBe(200);
    const replay = await request('POST', '/oauth/token', form({ grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: clientId }));
    expect(replay.body.error).toBe('invalid_grant');
    expect((await request('POST', '/oauth/token', form({ grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token, client_id: clientId }))).body.error).toBe('invalid_grant');

    expect((await request('DELETE', `/admin/clients/${clientId}`, { token: admin.token })).status).toBe(204);
  });
});
