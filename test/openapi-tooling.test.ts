import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from './helpers/app';

/*
 * The served document through the tools its users run, as real processes: Redocly's linter, and
 * openapi-typescript + openapi-fetch compiled by tsc. openapi-typescript needs the TypeScript 5
 * JavaScript API, so it lives in the tools/openapi-typescript workspace with its own typescript.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = {
  redocly: join(root, 'node_modules/@redocly/cli/bin/cli.js'),
  openapiTypescript: join(root, 'tools/openapi-typescript/node_modules/openapi-typescript/bin/cli.js'),
  tsc: join(root, 'node_modules/typescript/bin/tsc'),
};

let t: TestContext;
let dir: string;
let document: Record<string, any>;
beforeAll(async () => {
  t = await createTestContext();
  document = (await t.request('GET', '/openapi.json')).body;
  // Inside the repository, so that the usage file below resolves openapi-fetch from node_modules.
  await mkdir(join(root, 'test-output'), { recursive: true });
  dir = await mkdtemp(join(root, 'test-output/openapi-'));
  await writeFile(join(dir, 'openapi.json'), JSON.stringify(document));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await t.close();
});

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
}

async function lint(file: string): Promise<LintReport> {
  // Exit code 1 means "problems found"; the JSON report says which.
  const { stdout } = await run(process.execPath, [bin.redocly, 'lint', file, '--config', join(root, 'redocly.yaml'), '--format', 'json'], {
    cwd: dir,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  return JSON.parse(stdout.slice(stdout.indexOf('{')));
}

const errorsOf = (report: LintReport) =>
  report.problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`);

describe('the OpenAPI document in the tools that read it', () => {
  it('passes redocly lint with the recommended rules', async () => {
    const report = await lint(join(dir, 'openapi.json'));
    expect(errorsOf(report)).toEqual([]);
    expect(report.totals.errors).toBe(0);

    // The check can fail: an operation without a summary or credentials, and a path parameter never declared.
    const broken = structuredClone(document);
    delete broken.paths['/auth/verify'].post.summary;
    delete broken.paths['/auth/verify'].post.security;
    broken.paths['/auth/sessions/{id}'].delete.parameters = [];
    await writeFile(join(dir, 'broken.json'), JSON.stringify(broken));
    const rules = new Set(errorsOf(await lint(join(dir, 'broken.json'))).map((e) => e.split(' ')[0]));
    expect([...rules].sort()).toEqual(['operation-summary', 'path-parameters-defined', 'security-defined']);
  });

  it('generates client types in which POST /auth/sessions answers { token, session, user }', async () => {
    await run(process.execPath, [bin.openapiTypescript, join(dir, 'openapi.json'), '--output', join(dir, 'api.d.ts')], { cwd: dir });
    await writeFile(
      join(dir, 'usage.ts'),
      `import createClient from 'openapi-fetch';
import type { paths } from './api';

const client = createClient<paths>({ baseUrl: 'https://auth.example.test' });

export async function signIn(email: string, code: string): Promise<string> {
  const { data, error } = await client.POST('/auth/sessions', { body: { method: 'otp', email, token: code } });
  if (error) return error.error.code;
  const token: string = data.token;
  const session: { id: string; method: 'otp' | 'passkey'; current: boolean } = data.session;
  const user: { identity: string; role: 'user' | 'admin'; email: string | null } = data.user;
  // @ts-expect-error the body has no such field
  data.nope;
  // @ts-expect-error the token is a string
  const wrong: number = data.token;
  // @ts-expect-error 'password' is not a sign-in method
  await client.POST('/auth/sessions', { body: { method: 'password', email, token: code } });
  return [token, session.id, user.role, wrong].join();
}

export async function sessions(): Promise<string[]> {
  const { data } = await client.GET('/auth/sessions');
  return data?.sessions.map((s) => s.expiresAt) ?? [];
}
`,
    );
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, target: 'es2022', module: 'preserve', moduleResolution: 'bundler', lib: ['es2022', 'dom'], types: [] },
        files: ['usage.ts'],
      }),
    );
    const compiled = await run(process.execPath, [bin.tsc, '-p', join(dir, 'tsconfig.json')], { cwd: dir }).then(
      () => '',
      (error: { stdout?: string; message: string }) => error.stdout || error.message,
    );
    expect(compiled).toBe('');
  });
});
