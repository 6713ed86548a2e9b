/**
 * Signing in from a single-page app with the typed client.
 *
 * In the browser the session cookie does the rest (same site, or cross-site with `ORIGIN` set
 * and the bearer token). Run it against a local server with
 *   npm start            # in another terminal; codes are printed to its log
 *   npx tsx examples/spa-client.ts you@example.com
 */
import { createClient } from '../src/client';

const baseUrl = process.env.AUTH_URL ?? 'http://localhost:3000';
const email = process.argv[2] ?? 'you@example.com';
const api = createClient(baseUrl);

async function ask(question: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

// 1. Ask for a code: 202, the same answer whether or not the account exists.
const verify = await api.auth.verify.$post({ json: { email } });
if (verify.status !== 202) throw new Error(`verify: ${verify.status} ${JSON.stringify(await verify.json())}`);
console.log(`code sent to ${email}, valid until ${(await verify.json()).expiresAt}`);

// 2. Exchange it for a session: the answer is typed, the token is a string.
const code = await ask('code from the mail (or the server log): ');
const signIn = await api.auth.sessions.$post({ json: { method: 'otp', email, token: code } });
if (signIn.status !== 201) throw new Error(`sign-in: ${signIn.status} ${JSON.stringify(await signIn.json())}`);
const { token, user } = await signIn.json();
console.log(`signed in as ${user.email} (identity ${user.identity})`);

// 3. Outside a browser there is no cookie jar: send the token as a bearer token.
const authed = createClient(baseUrl, { headers: { authorization: `Bearer ${token}` } });
const current = await authed.auth.sessions.current.$get();
if (current.status === 200) {
  const { session } = await current.json();
  console.log(`session ${session.id} expires ${session.expiresAt}`);
}

// 4. Sign out.
await authed.auth.sessions.$delete();
console.log('signed out');
