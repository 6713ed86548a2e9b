import fc from 'fast-check';

/*
 * Request generators for the fuzz tests: every operation of the server's own OpenAPI document
 * (GET /openapi.json, whose schemas are converted from the zod validators the routes run), filled
 * with values drawn from those schemas, and then bent: wrong types, missing and extra fields,
 * hostile strings, bad JSON, odd headers, junk credentials and path ids.
 */

type JsonSchema = Record<string, any>;

export interface Operation {
  method: string;
  /** OpenAPI path, `/identities/{identityId}`. */
  path: string;
  pathParams: { name: string; schema: JsonSchema }[];
  queryParams: { name: string; required: boolean; schema: JsonSchema }[];
  body: JsonSchema | undefined;
  secured: boolean;
}

/** The operations of an OpenAPI 3.1 document. */
export function operationsOf(document: { paths: Record<string, Record<string, any>> }): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const parameters: any[] = op.parameters ?? [];
      operations.push({
        method: method.toUpperCase(),
        path,
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => ({ name: p.name, schema: p.schema })),
        queryParams: parameters.filter((p) => p.in === 'query').map((p) => ({ name: p.name, required: p.required, schema: p.schema })),
        body: op.requestBody?.content?.['application/json']?.schema,
        secured: Array.isArray(op.security) && op.security.length > 0,
      });
    }
  }
  return operations;
}

/** What the fuzzer knows of the server's state: real credentials and ids, so that requests get past auth. */
export interface Known {
  sessionTokens: string[];
  /** `owned[i]`: ids of rows that belong to the account of `sessionTokens[i]` (its user, session, profiles). */
  owned: string[][];
  /**
   * `ownedProfiles[i]`: the ids of those that are profiles, which an `{identityId}` of the
   * account's own is drawn from (any owned id would mostly be a 404 there).
   */
  ownedProfiles?: string[][];
  identityTokens: string[];
  /** Ids of real rows (sessions, users, profiles) and real SpacetimeDB identities, for path parameters. */
  ids: string[];
  origin: string;
}

export interface FuzzRequest {
  method: string;
  /** Path and query as sent, percent-encoding and all. */
  target: string;
  headers: Record<string, string>;
  /** Undefined: no body. */
  body?: Uint8Array;
  /** For the raw HTTP client: how to frame the body (the in-process app ignores it). */
  framing: 'length' | 'chunked' | 'short-length' | 'long-length';
  /** A short label for reports: the operation this request was derived from. */
  label: string;
}

const encoder = new TextEncoder();

// ---------------------------------------------------------------- strings and values

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((n) => String.fromCharCode(n));
const oddCharacter = fc.constantFrom(
  '\u0000', '\u0001', '\u0007', '\u001b', '\u007f', '\u0085', '\u00a0', '\u00ad', '\u200b', '\u200d', '\u200e', '\u200f',
  '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u2028', '\u2029', '\ufeff',
  '\ufffd', '\uffff', '\r', '\n', '\t', '\\', '"', "'", '%', '/', '?', '#', '&', '=', '+', ';', ',', '<', '>', '`', '$',
  '{', '}', '*', 'é', 'e\u0301', 'ß', 'İ', 'ﬁ', '🧪', '👩‍💻', '𝕏', 'א', 'ع', '中',
);
// Characters from code points: fast-check's grapheme units are much slower to draw.
const printable = fc.integer({ min: 0x20, max: 0x7e }).map((n) => String.fromCharCode(n));
const anyCodePoint = fc.integer({ min: 0, max: 0x10ffff }).map((n) => String.fromCodePoint(n));
const character = fc.oneof(
  { weight: 4, arbitrary: printable },
  { weight: 3, arbitrary: oddCharacter },
  { weight: 1, arbitrary: loneSurrogate },
  { weight: 1, arbitrary: anyCodePoint },
);

const knownBad = fc.constantFrom(
  '', ' ', '   ', 'null', 'undefined', 'true', 'NaN', 'Infinity', '-1', '0', '1e309', '0x10', '1_000', '١٢٣',
  '../../../../etc/passwd', '..\\..\\windows', '%2e%2e%2f', '%00', '%ZZ', '%', '%u0000', '\u0000', 'a\u0000b',
  '\ud800', '\udfff', 'x\ud83d', '\u202egnp.exe', 'admin\u200b', '<script>alert(1)</script>', "' OR '1'='1", '"; DROP TABLE users; --',
  '${jndi:ldap://x/a}', '{{7*7}}', '__proto__', 'constructor', 'prototype', 'a@b', '@', 'a@', '@b.c', 'A@EXAMPLE.COM ',
  'user@[127.0.0.1]', 'user+tag@example.com', 'ünïcödé@exämple.com', '"quoted"@example.com', 'a'.repeat(65) + '@example.com',
  `${'a'.repeat(250)}@x.co`, '2024-02-30', '0000-00-00', '9999-12-31', '#fff', '#GGGGGG', 'javascript:alert(1)',
  'http://', 'http://[::1', 'https://example.com/\u0000', 'data:text/html,x', 'public-key', 'otp', 'passkey', 'x.y', '.', '..',
);

/** Strings a careful server must survive: odd code points, lone surrogates, bidi marks, NUL, huge ones. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: knownBad },
  { weight: 4, arbitrary: fc.array(character, { maxLength: 40 }).map((cs) => cs.join('')) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(255, 256, 513, 1025, 4097, 16_385), character).map(([n, c]) => c.repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom(40_000, 70_000).map((n) => 'x'.repeat(n)) },
);

/** Any JSON value, wrong types for a field included. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 63, true, false, null) },
  { weight: 1, arbitrary: fc.constantFrom([], {}, [null], [''], { '': '' }, { __proto__: { admin: true } }, { constructor: { prototype: {} } }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: 10, max: 3_000 }).map(deeplyNested) },
);

/** `[[[…]]]` or `{"a":{"a":…}}` `depth` levels down. */
function deeplyNested(depth: number): unknown {
  let value: unknown = depth % 2 === 0 ? 'bottom\u0000' : null;
  for (let i = 0; i < depth; i++) value = i % 3 === 0 ? { a: value } : [value];
  return value;
}

// ---------------------------------------------------------------- from JSON Schema

/** Values that satisfy `schema` (most of the time: refinements the schema cannot express may still fail). */
export function fromSchema(schema: JsonSchema | undefined, name = ''): fc.Arbitrary<unknown> {
  if (!schema || Object.keys(schema).length === 0) return fc.jsonValue({ maxDepth: 2 });
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  if (Array.isArray(schema.anyOf)) return fc.oneof(...schema.anyOf.map((s: JsonSchema) => fromSchema(s, name)));
  if (Array.isArray(schema.oneOf)) return fc.oneof(...schema.oneOf.map((s: JsonSchema) => fromSchema(s, name)));
  switch (schema.type) {
    case 'string':
      return stringFromSchema(schema, name);
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6 });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(fromSchema(schema.items, name), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 5, 5) });
    case 'object':
      return objectFromSchema(schema);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Addresses the server accepts, in the spellings it must normalise (case, surrounding spaces). */
const plainEmail = fc
  .tuple(
    fc.stringMatching(/^[a-z0-9]{1,12}(\.[a-z0-9]{1,8})?(\+[a-z0-9]{1,6})?@[a-z0-9]{1,12}(-[a-z0-9]{1,6})?\.(com|org|example|io)$/),
    fc.constantFrom('plain', 'plain', 'plain', 'upper', 'spaced'),
  )
  .map(([address, spelling]) => (spelling === 'upper' ? address.toUpperCase() : spelling === 'spaced' ? ` ${address}\t` : address));

/*
 * Strings matching a pattern are slow to generate one character at a time (a millisecond for a
 * 64-digit identity), so each pattern's values are drawn once, a few hundred of them, and picked
 * from afterwards. `seedPools` ties the draw to the run's seed.
 */
let poolSeed = 1;
const pools = new Map<string, fc.Arbitrary<string>>();

export function seedPools(seed: number): void {
  poolSeed = seed;
  pools.clear();
}

function pooled(key: string, arbitrary: fc.Arbitrary<string>): fc.Arbitrary<string> {
  let pool = pools.get(key);
  if (!pool) pools.set(key, (pool = fc.constantFrom(...new Set(fc.sample(arbitrary, { numRuns: 300, seed: poolSeed })))));
  return pool;
}

function stringFromSchema(schema: JsonSchema, name: string): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 64, 300);
  const fits = (s: string) => s.length >= min && s.length <= (schema.maxLength ?? Infinity);
  if (schema.format === 'email' || /email/i.test(name)) return pooled(`email ${min} ${max}`, plainEmail.filter(fits));
  if (schema.format === 'uri' || /url/i.test(name)) return pooled(`url ${min} ${max}`, fc.webUrl().filter(fits));
  if (typeof schema.pattern === 'string') {
    return pooled(`${schema.pattern} ${min} ${max}`, fc.stringMatching(new RegExp(schema.pattern)).filter(fits));
  }
  return fc.string({ minLength: min, maxLength: Math.max(min, max), unit: fc.oneof({ weight: 8, arbitrary: printable }, { weight: 1, arbitrary: character }) });
}

function objectFromSchema(schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> {
  const properties: Record<string, JsonSchema> = schema.properties ?? {};
  const model = Object.fromEntries(Object.entries(properties).map(([key, s]) => [key, fromSchema(s, key)]));
  return fc.record(model, { requiredKeys: (schema.required ?? []) as never[] }) as fc.Arbitrary<Record<string, unknown>>;
}

/** A schema-valid object bent one way: a field of the wrong type or value, one missing, one extra. */
function bentObject(schema: JsonSchema): fc.Arbitrary<unknown> {
  const keys = Object.keys(schema.properties ?? {});
  const valid = objectFromSchema(schema);
  if (keys.length === 0) return fc.tuple(valid, fc.string(), hostileValue).map(([o, k, v]) => ({ ...o, [k]: v }));
  return fc.oneof(
    fc.tuple(valid, fc.constantFrom(...keys), hostileValue).map(([o, k, v]) => ({ ...o, [k]: v })),
    fc.tuple(valid, fc.constantFrom(...keys)).map(([o, k]) => {
      const copy = { ...o };
      delete copy[k];
      return copy;
    }),
    fc.tuple(valid, fc.constantFrom('__proto__', 'constructor', 'isPrimary', 'role', 'userId', 'id', 'extra', ''), hostileValue).map(([o, k, v]) =>
      // JSON.parse turns `"__proto__"` into an own property, as a hostile client would send it.
      // A function, not a replacement string: a hostile value may hold `$'` or `$&`.
      JSON.parse(JSON.stringify(o).replace(/^\{/, () => `{${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}${Object.keys(o).length ? ',' : ''}`)),
    ),
    fc.tuple(valid, fc.constantFrom(...keys)).map(([o, k]) => {
      const nested = schema.properties[k];
      if (nested?.type !== 'object') return { ...o, [k]: [o[k]] };
      return { ...o, [k]: { ...(o[k] as object), extra: 'x'.repeat(300) } };
    }),
  );
}

const badJson = fc.constantFrom(
  '', '{', '}', '[', '{"email":', '{"email":"a@b.c"', '{"email":"a@b.c"}}', '{"email":"a@b.c",}', "{'email':'a@b.c'}", 'null', 'true', '0',
  '"string"', '[]', '{"a":1,"a":2}', '\ufeff{"email":"a@example.com"}', '{"email":"\\ud800@example.com"}', '{"email":"\\u0000"}',
  'NaN', '{"n":1e99999}', '{"n":-}', 'undefined', '<xml/>', 'email=a%40example.com', '\u0000', '{"email":"a@example.com"}\u0000',
  '[' .repeat(30_000), '{"a":'.repeat(10_000),
);

/** A body for an operation: valid from its schema, bent, of the wrong type, or not JSON at all. */
export function bodyFor(schema: JsonSchema | undefined): fc.Arbitrary<string | undefined> {
  const json = (a: fc.Arbitrary<unknown>) => a.map((v) => JSON.stringify(v) ?? 'null');
  const arbitraries: fc.WeightedArbitrary<string | undefined>[] = [
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: badJson },
    { weight: 1, arbitrary: json(hostileValue) },
    { weight: 1, arbitrary: fc.constantFrom(40_000, 66_000, 200_000).map((n) => JSON.stringify({ email: `${'a'.repeat(n)}@example.com` })) },
  ];
  if (schema) {
    arbitraries.push(
      { weight: 6, arbitrary: json(fromSchema(schema)) },
      { weight: 6, arbitrary: json(bentObject(schema)) },
      { weight: 1, arbitrary: deepField(schema) },
    );
  } else {
    arbitraries.push({ weight: 3, arbitrary: fc.constant(undefined) });
  }
  return fc.oneof(...arbitraries);
}

/**
 * A valid body with one field (or one field of a nested object) replaced by arrays nested
 * thousands deep: deeper than JSON.stringify can write, so the text is built by hand.
 */
function deepField(schema: JsonSchema): fc.Arbitrary<string> {
  const keys = Object.keys(schema.properties ?? {});
  return fc.tuple(objectFromSchema(schema), fc.constantFrom(...keys, 'extra'), fc.integer({ min: 1_000, max: 30_000 })).map(([o, k, depth]) => {
    const nested = schema.properties?.[k]?.type === 'object' ? { ...(o[k] as object), deep: '\u0001DEEP' } : '\u0001DEEP';
    return JSON.stringify({ ...o, [k]: nested }).replace('"\\u0001DEEP"', `${'['.repeat(depth)}"\\u0000"${']'.repeat(depth)}`);
  });
}

// ---------------------------------------------------------------- paths and queries

/** Percent-encodes a value for a URL; a lone surrogate becomes U+FFFD, as a URL parser would make it. */
const pathSegment = (value: string): string =>
  encodeURIComponent(value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));

function pathValue(schema: JsonSchema, known: Known): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fromSchema(schema).map((v) => pathSegment(String(v))) },
    { weight: known.ids.length > 0 ? 3 : 0, arbitrary: known.ids.length > 0 ? fc.constantFrom(...known.ids) : fc.constant('x') },
    { weight: 3, arbitrary: hostileString.map((s) => pathSegment(s.slice(0, 8_000))) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '%00', '%ZZ', '%', '%2', '%C0%AF', '%E2%80%AE', '%F0%9F', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', '..', '.', ';', '%3B', 'a%2Fb',
        'A'.repeat(64), 'F'.repeat(64), 'g'.repeat(64), '0'.repeat(63), '0'.repeat(65), '00000000-0000-0000-0000-000000000000',
        '9'.repeat(300), 'x'.repeat(8_000), '%E4%B8%AD', '\u00e9', '%u00e9', '+', '%20', 'null', 'undefined', '-1', '0x1',
      ),
    },
  );
}

function queryFor(op: Operation): fc.Arbitrary<string> {
  const params = op.queryParams.map((p) =>
    fc.option(
      fc.oneof(
        { weight: 3, arbitrary: fromSchema(p.schema, p.name).map((v) => [[p.name, String(v)]]) },
        { weight: 2, arbitrary: hostileString.map((v) => [[p.name, v.slice(0, 4_000)]]) },
        { weight: 1, arbitrary: fc.tuple(fromSchema(p.schema, p.name), hostileString).map(([a, b]) => [[p.name, String(a)], [p.name, b.slice(0, 100)]]) },
        { weight: 1, arbitrary: fc.constantFrom('%ZZ', '%00', '', '%', '+', '1e2', ' 5', '05', '-0', '1.0').map((raw) => [[p.name, raw, 'raw']]) },
      ),
      { freq: p.required ? 8 : 2 },
    ),
  );
  const extra = fc.option(fc.tuple(fc.constantFrom('limit', 'before', 'email', 'x', '__proto__', 'a[b]', ''), hostileString).map(([k, v]) => [[k, v.slice(0, 200)]]), { freq: 4 });
  return fc.tuple(fc.tuple(...params), extra).map(([values, more]) => {
    const pairs = [...values.filter((v) => v !== null).flat(), ...(more ?? [])] as string[][];
    if (pairs.length === 0) return '';
    return `?${pairs.map(([k, v, raw]) => `${pathSegment(k!)}=${raw ? v : pathSegment(v!)}`).join('&')}`;
  });
}

// ---------------------------------------------------------------- headers

/** Header values must be ISO-8859-1 without CR, LF or NUL to be sent at all. */
const headerSafe = (s: string): string => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');

const jwtLooking = fc.oneof(
  fc.constantFrom(
    'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
    'eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJoZXhfaWRlbnRpdHkiOiIwMCJ9.',
    'eyJhbGciOiJIUzI1NiIsImtpZCI6Ii4uLy4uL2V0Yy9wYXNzd2QifQ.e30.c2ln',
    'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAiLCJzdWIiOiJ4IiwiYXVkIjpbInNwYWNldGltZWRiIl19.AAAA',
    'a.b.c', '..', 'e30.e30.e30', 'eyJ.eyJ.', 'x'.repeat(300) + '.' + 'y'.repeat(300) + '.z',
  ),
  fc.tuple(fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 }), fc.base64String({ maxLength: 40 })).map(
    ([h, p, s]) => `${Buffer.from(JSON.stringify(h) ?? 'null').toString('base64url')}.${Buffer.from(JSON.stringify(p) ?? 'null').toString('base64url')}.${s}`,
  ),
);

function tokenLike(known: Known): fc.Arbitrary<string> {
  const sessionToken = fromPool(known.sessionTokens);
  const real = fc.oneof({ weight: 3, arbitrary: sessionToken }, { weight: 1, arbitrary: fromPool(known.identityTokens) });
  return fc.oneof(
    { weight: 6, arbitrary: real },
    { weight: 2, arbitrary: jwtLooking },
    {
      weight: 2,
      arbitrary: fc.oneof(
        sessionToken.map((t) => `${t.split('.')[0]}.wrong`),
        sessionToken.map((t) => `${t}x`),
        sessionToken.map((t) => t.toUpperCase()),
        real.map((t) => t.slice(0, -1)),
        fc.tuple(hostileString, hostileString).map(([a, b]) => headerSafe(`${a.slice(0, 100)}.${b.slice(0, 100)}`)),
        fc.constantFrom('.', 'a.', '.b', 'a.b.c', '0.0', '00000000-0000-0000-0000-000000000000.x', 'x'.repeat(300)),
      ),
    },
    { weight: 1, arbitrary: hostileString.map((s) => headerSafe(s.slice(0, 2_000))) },
  );
}

function authorization(known: Known): fc.Arbitrary<string | undefined> {
  const token = tokenLike(known);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 6, arbitrary: token.map((t) => `Bearer ${t}`) },
    { weight: 2, arbitrary: token.map((t) => `Basic ${Buffer.from(`token:${t}`).toString('base64')}`) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.constantFrom('Bearer', 'Bearer ', 'Bearer  ', 'bearer x', 'BEARER x', 'Basic', 'Basic !!!', 'Basic ====', 'Basic dG9rZW46', 'Basic dXNlcjpwYXNz',
          'Basic /w==', 'Basic 77+9', 'Digest x', 'Token x', 'Bearer a b', 'Bearer\tx', ' Bearer x', 'Negotiate YII=', ''),
        fc.uint8Array({ maxLength: 60 }).map((b) => `Basic ${Buffer.from(b).toString('base64')}`),
        token.map((t) => `Basic ${Buffer.from(`user:${t}`).toString('base64')}`),
        token.map((t) => `Bearer ${t}, Bearer ${t}`),
      ),
    },
  );
}

function cookie(known: Known): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: tokenLike(known).map((t) => `session=${t}`) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.constantFrom('session=', 'session', '=', ';;;', 'session="', 'session=%ZZ', 'session=%00', 'session=a; session=b', 'a=b; session', '__proto__=x'),
        fromPool(known.sessionTokens).map((t) => `other=1; session=${encodeURIComponent(t)}; session=junk`),
        hostileString.map((s) => `session=${headerSafe(s.slice(0, 3_000))}`),
      ),
    },
  );
}

const contentType = fc.option(
  fc.constantFrom(
    'application/json', 'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/merge-patch+json',
    'application/json; charset=latin1', 'application/jsonx', 'application/json, text/plain', 'text/plain', 'text/plain;charset=UTF-8',
    'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'multipart/form-data', '*/*', 'json', '', ';', 'application/',
  ),
  { freq: 6 },
);

function origin(known: Known): fc.Arbitrary<string | undefined> {
  return fc.option(
    fc.constantFrom(known.origin, known.origin, 'http://evil.example', 'null', `${known.origin}.evil.example`, 'http://localhost', 'https://localhost:3000', '*', 'file://', 'x'),
    { freq: 3 },
  );
}

const clientIp = fc.oneof(
  { weight: 6, arbitrary: fc.ipV4() },
  { weight: 2, arbitrary: fc.ipV6() },
  { weight: 1, arbitrary: fc.constantFrom('unknown', '', ' ', '1.2.3.4, 5.6.7.8', '::ffff:127.0.0.1', '999.1.1.1', 'x'.repeat(300), '127.0.0.1:80') },
);

const otherHeaders = fc.record(
  {
    'user-agent': hostileString.map((s) => headerSafe(s.slice(0, 3_000))),
    'x-request-id': fc.oneof(fc.constantFrom('abc', 'a'.repeat(200), '../x', 'a b'), hostileString.map((s) => headerSafe(s.slice(0, 200)))),
    accept: fc.constantFrom('*/*', 'text/html', 'application/json', 'x'),
    'sec-fetch-site': fc.constantFrom('cross-site', 'same-origin', 'none', 'same-site'),
    'access-control-request-method': fc.constantFrom('POST', 'DELETE', 'GET', 'X'),
    'access-control-request-headers': fc.constantFrom('content-type', 'authorization', 'x-evil'),
    'content-encoding': fc.constantFrom('gzip', 'br', 'identity', 'x'),
  },
  { requiredKeys: [] },
);

// ---------------------------------------------------------------- requests

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** One request: an operation of the document, its method kept (mostly), everything else fuzzed. */
export function requestArbitrary(operations: Operation[], known: Known): fc.Arbitrary<FuzzRequest> {
  const perOperation = operations.map((op) => {
    const params = op.pathParams.map((p) => pathValue(p.schema, known));
    const path = fc.tuple(...params).map((values) => {
      let i = 0;
      return op.path.replace(/\{[^}]+\}/g, () => values[i++] ?? 'x');
    });
    return fc.record({
      op: fc.constant(op),
      method: fc.oneof({ weight: 12, arbitrary: fc.constant(op.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
      path: fc.oneof(
        { weight: 40, arbitrary: path },
        { weight: 1, arbitrary: path.map((p) => `${p}/`) },
        { weight: 1, arbitrary: path.map((p) => p.replace(/^\//, '//')) },
        { weight: 1, arbitrary: path.map((p) => p.toUpperCase()) },
        { weight: 1, arbitrary: fc.tuple(path, hostileString).map(([p, s]) => `${p}/${pathSegment(s.slice(0, 500))}`) },
      ),
      query: queryFor(op),
      body: bodyFor(op.body),
      contentType,
      authorization: op.secured ? authorization(known) : fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: authorization(known) }),
      cookie: cookie(known),
      origin: origin(known),
      ip: clientIp,
      others: otherHeaders,
      framing: fc.constantFrom<FuzzRequest['framing']>('length', 'length', 'length', 'length', 'chunked', 'short-length', 'long-length'),
    });
  });
  const hostile = fc.oneof(...perOperation);
  const valid = fc.oneof(...operations.map((op) => wellFormed(op, known)));
  return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 5, arbitrary: hostile }).map((r) => {
    const headers: Record<string, string> = { ...r.others, 'x-forwarded-for': r.ip };
    if (r.authorization != null) headers.authorization = r.authorization;
    if (r.cookie != null) headers.cookie = r.cookie;
    if (r.origin != null) headers.origin = r.origin;
    const withBody = r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD';
    if (withBody && r.contentType !== null) headers['content-type'] = r.contentType;
    return {
      method: r.method,
      target: `${r.path}${r.query}`,
      headers,
      body: withBody ? encoder.encode(r.body) : undefined,
      framing: r.framing,
      label: `${r.op.method} ${r.op.path}`,
    };
  });
}

/**
 * A request as a careful client would send it: the operation's method, values from its schemas,
 * JSON with its Content-Type, a real credential. These reach the domain, where the state is.
 */
function wellFormed(op: Operation, known: Known) {
  // Arbitraries are built once, here; the pool (which may be refilled) is read only when a value is mapped.
  const params = op.pathParams.map((p) =>
    fc.record({
      name: fc.constant(p.name),
      from: fc.constantFrom('schema', 'mine', 'mine', 'any'),
      schema: fromSchema(p.schema, p.name).map((v) => pathSegment(String(v))),
      pick: fc.nat(),
    }),
  );
  const query = fc.tuple(...op.queryParams.map((p) => fc.option(fromSchema(p.schema, p.name), { freq: p.required ? 10 : 2 }))).map((values) => {
    const pairs = values.flatMap((v, i) => (v === null ? [] : [`${op.queryParams[i]!.name}=${pathSegment(String(v))}`]));
    return pairs.length ? `?${pairs.join('&')}` : '';
  });
  return fc
    .record({
      account: fc.nat(),
      params: fc.tuple(...params),
      query,
      body: op.body ? fromSchema(op.body).map((v) => JSON.stringify(v)) : fc.constant(undefined),
      scheme: fc.constantFrom('bearer', 'bearer', 'bearer', 'bearer', 'basic', 'identity'),
      identityToken: fromPool(known.identityTokens),
      origin: fc.option(fc.constant(known.origin), { freq: 2 }),
      ip: clientIp,
    })
    .map((r) => {
      const slot = r.account % known.sessionTokens.length;
      const token = known.sessionTokens[slot]!;
      const owned = known.owned[slot] ?? [];
      const profiles = known.ownedProfiles?.[slot] ?? [];
      let i = 0;
      const path = op.path.replace(/\{[^}]+\}/g, () => {
        const p = r.params[i++]!;
        const mine = p.name === 'identityId' && profiles.length > 0 ? profiles : owned;
        if (p.from === 'mine' && mine.length > 0) return mine[p.pick % mine.length]!;
        if (p.from === 'any' && known.ids.length > 0) return known.ids[p.pick % known.ids.length]!;
        return p.schema;
      });
      const authorization =
        r.scheme === 'identity' ? `Bearer ${r.identityToken}` : r.scheme === 'basic' ? `Basic ${Buffer.from(`token:${token}`).toString('base64')}` : `Bearer ${token}`;
      return {
        op,
        method: op.method,
        path,
        query: r.query,
        body: r.body,
        contentType: 'application/json' as string | null,
        authorization: authorization as string | undefined,
        cookie: undefined as string | undefined,
        origin: r.origin,
        ip: r.ip,
        others: {} as Record<string, string>,
        framing: 'length' as FuzzRequest['framing'],
      };
    });
}

/** One of the pool's current values: the pool may be refilled while the run goes on. */
function fromPool(pool: string[]): fc.Arbitrary<string> {
  return fc.nat().map((i) => pool[i % pool.length]!);
}

// ---------------------------------------------------------------- checking answers

const SNAKE_CASE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/**
 * What is wrong with an answer, or null: a status of 500 or more; a non-2xx answer (other than to
 * HEAD, which has no body by definition) that is not the contract's JSON error; a 429 without
 * Retry-After; a stack trace anywhere.
 */
export function problemWith(method: string, status: number, headers: Headers, text: string, target = ''): string | null {
  if (status >= 500) return `status ${status}`;
  if (/\n\s+at .+\(.*:\d+:\d+\)/.test(text)) return 'a stack trace in the body';
  if (status === 429 && !/^\d+$/.test(headers.get('retry-after') ?? '')) return '429 without a Retry-After in seconds';
  if (status < 300 || method === 'HEAD') return null;
  if (target.startsWith('/oauth/')) {
    const oauthProblem = oauthAnswerProblem(status, headers, text);
    if (oauthProblem !== 'api-shape') return oauthProblem;
  }
  if (!/^application\/json\b/.test(headers.get('content-type') ?? '')) return `non-JSON ${status} (content-type ${headers.get('content-type')})`;
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    return `${status} body is not JSON`;
  }
  const error = body?.error;
  if (!error || typeof error !== 'object' || Object.keys(body).length !== 1) return `${status} body is not { error }`;
  if (typeof error.code !== 'string' || !SNAKE_CASE.test(error.code)) return `${status} error.code ${JSON.stringify(error.code)} is not snake_case`;
  if (typeof error.message !== 'string' || error.message.length === 0) return `${status} error.message is not a string`;
  return null;
}

/**
 * The OpenID Connect endpoints answer browsers with redirects and HTML pages, and clients with
 * the OAuth error shape `{ error, error_description }` (RFC 6749 §5.2). `api-shape`: a JSON body
 * that should then be the API's error (the body-size limit answers so everywhere).
 */
function oauthAnswerProblem(status: number, headers: Headers, text: string): string | null | 'api-shape' {
  if (status >= 300 && status < 400) return headers.get('location') ? null : `${status} without a Location`;
  const type = headers.get('content-type') ?? '';
  if (/^text\/html\b/.test(type)) return text.startsWith('<!doctype html>') ? null : `${status} HTML that is not a document`;
  if (!/^application\/json\b/.test(type)) return `non-JSON ${status} (content-type ${type})`;
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    return `${status} body is not JSON`;
  }
  if (typeof body?.error === 'object') return 'api-shape';
  if (typeof body?.error !== 'string' || !SNAKE_CASE.test(body.error)) return `${status} OAuth error ${JSON.stringify(body?.error)} is not snake_case`;
  if (typeof body.error_description !== 'string' || Object.keys(body).length !== 2) return `${status} body is not { error, error_description }`;
  return null;
}

/** A request in a line, for failure reports. */
export function describeRequest(r: FuzzRequest): string {
  const body = r.body ? new TextDecoder().decode(r.body) : '';
  const short = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…(${s.length})` : s);
  return `${r.method} ${short(r.target, 200)} [${r.label}] headers=${short(JSON.stringify(r.headers), 400)} body=${short(body, 300)}`;
}
