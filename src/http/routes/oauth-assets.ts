import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import type { AppEnv } from '../env';
import { body, PUBLIC } from '../openapi-docs';
import { signInJs } from '../pages/assets';

const JAVASCRIPT = { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' };

const docs = {
  signIn: describeRoute({
    operationId: 'getSignInPageScript',
    summary: 'The hosted sign-in page’s script (emailed code and passkey through /auth/*), bundled with @simplewebauthn/browser',
    tags: ['oauth'],
    security: PUBLIC,
    responses: { 200: body('The script', 'text/javascript') },
  }),
};

/** `/oauth/assets/*`: the scripts of the pages in src/http/pages/, files of this origin so their CSP needs no inline script. */
export function oauthAssetRoutes() {
  return new Hono<AppEnv>().get('/sign-in.js', docs.signIn, (c) => c.body(signInJs, 200, JAVASCRIPT));
}
