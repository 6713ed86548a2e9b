import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driver } from './helpers/db';

// `npm pack` as a maintainer would run it, then the tarball used from a project outside this
// repository: only what the package ships, resolved through its `exports`.
const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(root, 'node_modules/.bin/tsc');
let dir: string;
let app: string;
let files: string[];

const SNIPPET = `import { createClient } from 'passwordless-auth/client';

const api = createClient('https://auth.example.com');

export async function signIn(email: string, code: string): Promise<string> {
  await api.auth.verify.$post({ json: { email } });
  const res = await api.auth.sessions.$post({ json: { method: 'otp', email, token: code } });
  if (res.status !== 201) throw new Error((await res.json()).error.message);
  const { token, session, user } = await res.json();
  const identity: string = user.identity;
  const method: 'otp' | 'passkey' = session.method;
  const authed = createClient('https://auth.example.com', { headers: { authorization: \`Bearer \${token}\` } });
  const me = await authed.auth.sessions.current.$get();
  if (me.status === 200) (await me.json()).user.email satisfies string | null;
  return identity + method;
}
`;

function typecheck(source: string): { ok: boolean; output: string } {
  writeFileSync(join(app, 'sign-in.ts'), source);
  try {
    return { ok: true, output: execFileSync(tsc, ['-p', app], { encoding: 'utf8', timeout: 60_000 }) };
  } catch (error) {
    return { ok: false, output: String((error as { stdout?: string }).stdout ?? error) };
  }
}

// Packing builds the client once; the file is about the package, not the database.
describe.runIf(driver === 'pglite')('the packed client', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'auth-pack-'));
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8', timeout: 170_000, stdio: ['ignore', 'pipe', 'ignore'] }),
    ) as [{ filename: string; files: { path: string }[] }];
    files = packed.files.map((f) => f.path);

    // A fresh project with the tarball unpacked as its dependency. The package's own dependencies
    // are linked from this checkout, which has them at the exact versions package.json pins, so
    // nothing is downloaded.
    app = join(dir, 'app');
    const installed = join(app, 'node_modules/passwordless-auth');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', join(dir, packed.filename), '-C', installed, '--strip-components=1']);
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const name of Object.keys(manifest.dependencies)) {
      const link = join(app, 'node_modules', name);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(join(root, 'node_modules', name), link);
    }
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', strict: true, skipLibCheck: true, noEmit: true, lib: ['ES2023', 'DOM'], types: [] },
        include: ['sign-in.ts'],
      }),
    );
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ships the client and its declarations, and no server source', () => {
    expect(files).toContain('dist/client.js');
    expect(files).toContain('dist/client.d.ts');
    expect(files).toContain('dist/app.d.ts');
    expect(files.filter((f) => f.startsWith('src/') || (f.endsWith('.js') && f !== 'dist/client.js'))).toEqual([]);
  });

  it('typechecks a sign-in against `passwordless-auth/client` from another project', () => {
    const result = typecheck(SNIPPET);
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  });

  it('and the types are real: a wrong field or body is an error', () => {
    const wrongField = typecheck(SNIPPET.replace('user.identity;', 'user.password;'));
    expect(wrongField.ok).toBe(false);
    expect(wrongField.output).toContain("Property 'password' does not exist");
    const wrongBody = typecheck(SNIPPET.replace("method: 'otp', email", "method: 'password', email"));
    expect(wrongBody.ok).toBe(false);
  });
});
