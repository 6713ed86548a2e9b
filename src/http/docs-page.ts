/*
 * The API reference at GET /docs: plain HTML rendered on the server from the OpenAPI document,
 * with inline styles and no script, so it loads nothing from anywhere.
 */

type JsonSchema = Record<string, unknown>;
type Ref = { $ref: string };

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: JsonSchema;
  description?: string;
}

interface Content {
  [mediaType: string]: { schema?: JsonSchema };
}

interface ResponseDoc {
  description?: string;
  headers?: Record<string, { description?: string }>;
  content?: Content;
}

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: (Parameter | Ref)[];
  requestBody?: { content?: Content } | Ref;
  responses?: Record<string, ResponseDoc | Ref>;
  security?: Record<string, string[]>[];
}

/** The parts of an OpenAPI 3.1 document the page reads. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  servers?: { url: string }[];
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation | undefined>>;
  components?: {
    schemas?: Record<string, JsonSchema>;
    parameters?: Record<string, Parameter>;
    securitySchemes?: Record<string, { description?: string }>;
  };
}

const escape = (value: unknown): string =>
  String(value).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];

/** Escaped text with `code spans` (the one bit of Markdown the descriptions use) rendered. */
const prose = (value: unknown): string => escape(value).replace(/`([^`]+)`/g, '<code>$1</code>');

const isRef = (value: unknown): value is Ref => typeof value === 'object' && value !== null && '$ref' in value;
const refName = (ref: string): string => ref.split('/').pop()!;

export function renderDocsPage(doc: OpenApiDocument): string {
  const byTag = new Map<string, { method: string; path: string; operation: Operation }[]>();
  for (const { name } of doc.tags ?? []) byTag.set(name, []);
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const tag = operation.tags?.[0] ?? 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push({ method, path, operation });
    }
  }
  const tags = [...byTag.keys()].filter((tag) => byTag.get(tag)!.length > 0);
  const tagDescription = (tag: string) => doc.tags?.find((t) => t.name === tag)?.description;
  const schemas = doc.components?.schemas ?? {};

  const nav = tags
    .map(
      (tag) =>
        `<li><a class="tag" href="#tag-${escape(tag)}">${escape(tag)}</a><ul>${byTag
          .get(tag)!
          .map(
            ({ method, path, operation }) =>
              `<li><a href="#${escape(operation.operationId)}"><span class="m ${method}">${method.toUpperCase()}</span> ${escape(path)}</a></li>`,
          )
          .join('')}</ul></li>`,
    )
    .join('');

  const sections = tags
    .map(
      (tag) =>
        `<section id="tag-${escape(tag)}"><h2>${escape(tag)}</h2>${tagDescription(tag) ? `<p>${prose(tagDescription(tag))}</p>` : ''}${byTag
          .get(tag)!
          .map(({ method, path, operation }) => renderOperation(doc, method, path, operation))
          .join('')}</section>`,
    )
    .join('');

  const models = Object.entries(schemas)
    .map(([name, schema]) => `<article id="schema-${escape(name)}"><h3><code>${escape(name)}</code></h3>${renderSchema(schema)}</article>`)
    .join('');

  const schemes = Object.entries(doc.components?.securitySchemes ?? {})
    .map(([name, s]) => `<li><code>${escape(name)}</code>: ${prose(s.description ?? '')}</li>`)
    .join('');
  const server = doc.servers?.[0]?.url;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(doc.info.title)} — API reference</title>
<style>${STYLE}</style>
</head>
<body>
<nav><h1>${escape(doc.info.title)}</h1><p class="muted">v${escape(doc.info.version)} · <a href="/openapi.json">openapi.json</a></p><ul>${nav}<li><a class="tag" href="#schemas">schemas</a></li></ul></nav>
<main>
<header>
<h1>${escape(doc.info.title)} <small>${escape(doc.info.version)}</small></h1>
${doc.info.description ? `<p>${prose(doc.info.description)}</p>` : ''}
${server ? `<p>Server: <code>${escape(server)}</code></p>` : ''}
<p>The machine-readable OpenAPI ${escape(doc.openapi)} document is at <a href="/openapi.json"><code>/openapi.json</code></a>.</p>
<h3>Credentials</h3><ul>${schemes}</ul>
<h3>Errors</h3>
<p>Every error answers JSON of this shape; <code>issues</code> comes with <code>invalid_request</code>.</p>
<pre>{ "error": { "code": "snake_case_code", "message": "human text", "issues": [ … ] } }</pre>
</header>
${sections}
<section id="schemas"><h2>schemas</h2>${models}</section>
</main>
</body>
</html>
`;
}

function renderOperation(doc: OpenApiDocument, method: string, path: string, op: Operation): string {
  const security = op.security?.map((s) => Object.keys(s)[0]).join(', ');
  const parameters = (op.parameters ?? []).map((p) => (isRef(p) ? doc.components?.parameters?.[refName(p.$ref)] : p)).filter((p) => p !== undefined);
  const params = parameters.length ? `<h4>Parameters</h4>${renderParameters(parameters)}` : '';
  const requestBody = op.requestBody && !isRef(op.requestBody) ? op.requestBody : undefined;
  const body = Object.entries(requestBody?.content ?? {})
    .map(([type, { schema }]) => `<h4>Body <code>${escape(type)}</code></h4>${schema ? renderSchema(schema) : ''}`)
    .join('');
  const responses = Object.entries(op.responses ?? {})
    .map(([status, r]) => `<li>${renderResponse(status, r)}</li>`)
    .join('');
  return `<article id="${escape(op.operationId)}">
<h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3>
${op.summary ? `<p><strong>${prose(op.summary)}</strong></p>` : ''}
${op.description ? `<p>${prose(op.description)}</p>` : ''}
<p class="muted">${security ? `Credentials: ${escape(security)}.` : 'No credentials needed.'}</p>
${params}${body}
<h4>Responses</h4><ul class="responses">${responses}</ul>
</article>`;
}

function renderResponse(status: string, response: ResponseDoc | Ref): string {
  if (isRef(response)) return `<code>${escape(status)}</code> ${schemaLink(response.$ref)}`;
  const bodies = Object.entries(response.content ?? {})
    .map(([type, { schema }]) => ` <span class="muted">${escape(type)}</span>${schema ? ` → ${typeHtml(schema)}` : ''}`)
    .join(';');
  const headers = Object.entries(response.headers ?? {})
    .map(([name, h]) => `<br><span class="muted">header <code>${escape(name)}</code>: ${prose(h.description ?? '')}</span>`)
    .join('');
  return `<code>${escape(status)}</code> ${prose(response.description ?? '')}${bodies}${headers}`;
}

function renderParameters(parameters: Parameter[]): string {
  const rows = parameters
    .map(
      (p) =>
        `<tr><td><code>${escape(p.name)}</code></td><td>${escape(p.in)}</td><td>${p.required ? 'yes' : 'no'}</td><td>${p.schema ? typeHtml(p.schema) : 'any'}</td><td>${prose(p.description ?? '')}</td></tr>`,
    )
    .join('');
  return `<div class="table"><table><tr><th>name</th><th>in</th><th>required</th><th>type</th><th>description</th></tr>${rows}</table></div>`;
}

function renderSchema(schema: JsonSchema): string {
  if (isRef(schema)) return `<p>${schemaLink(schema.$ref)}</p>`;
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  const json = `<details><summary>JSON Schema</summary><pre>${escape(JSON.stringify(schema, null, 2))}</pre></details>`;
  if (schema.type !== 'object' || !properties) return `<p>${typeHtml(schema)}</p>${json}`;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const rows = Object.entries(properties)
    .map(
      ([name, p]) =>
        `<tr><td><code>${escape(name)}</code></td><td>${required.has(name) ? 'yes' : 'no'}</td><td>${typeHtml(p)}</td><td>${prose(
          (p.description as string | undefined) ?? '',
        )}</td></tr>`,
    )
    .join('');
  return `<div class="table"><table><tr><th>field</th><th>required</th><th>type</th><th>description</th></tr>${rows}</table></div>${json}`;
}

const schemaLink = (ref: string): string => `<a href="#schema-${escape(refName(ref))}"><code>${escape(refName(ref))}</code></a>`;

/** A one-line reading of a JSON Schema as HTML: `string, 1–512 chars`, `"otp" | "passkey"`, a link to a named schema … */
function typeHtml(schema: JsonSchema): string {
  if (isRef(schema)) return schemaLink(schema.$ref);
  if (Array.isArray(schema.enum)) return escape(schema.enum.map((v) => JSON.stringify(v)).join(' | '));
  if ('const' in schema) return escape(JSON.stringify(schema.const));
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options)) return options.map((o) => typeHtml(o as JsonSchema)).join(' | ');
  }
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : String(schema.type ?? 'any');
  if (type === 'array' && schema.items) return `array of ${typeHtml(schema.items as JsonSchema)}`;
  const extras: string[] = [];
  if (schema.format) extras.push(String(schema.format));
  if (schema.minLength !== undefined || schema.maxLength !== undefined) {
    extras.push(`${schema.minLength ?? 0}–${schema.maxLength ?? '∞'} chars`);
  }
  if (schema.pattern && !schema.format) extras.push(`pattern ${schema.pattern}`);
  const safe = (n: unknown) => (typeof n === 'number' && Math.abs(n) < Number.MAX_SAFE_INTEGER ? n : undefined);
  const min = safe(schema.minimum);
  const max = safe(schema.maximum);
  if (min !== undefined || max !== undefined) extras.push(`${min ?? '−∞'}…${max ?? '∞'}`);
  if (schema.default !== undefined) extras.push(`default ${JSON.stringify(schema.default)}`);
  return escape(extras.length ? `${type}, ${extras.join(', ')}` : type);
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d2330;display:flex}
nav{position:sticky;top:0;height:100vh;overflow:auto;width:300px;flex:none;background:#f5f6f8;border-right:1px solid #e1e4e8;padding:16px;font-size:13px}
nav h1{font-size:16px;margin:0}nav ul{list-style:none;padding-left:0;margin:4px 0}nav ul ul{padding-left:4px}nav a{color:inherit;text-decoration:none;display:block;padding:2px 0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
nav a:hover{text-decoration:underline}nav .tag{font-weight:600;margin-top:10px}
main{padding:24px 40px;max-width:980px;min-width:0;flex:1;overflow-wrap:anywhere}header h1 small{font-size:14px;color:#6a737d}
article{border:1px solid #e1e4e8;border-radius:6px;padding:4px 18px 12px;margin:16px 0;min-width:0}
h2{border-bottom:1px solid #e1e4e8;padding-bottom:4px;margin-top:40px}h3{font-size:17px}h4{margin:14px 0 6px}
.m{display:inline-block;min-width:58px;text-align:center;border-radius:4px;padding:1px 6px;font:600 12px/18px ui-monospace,monospace;color:#fff;background:#6a737d}
.get{background:#2f7ed8}.post{background:#2da44e}.put,.patch{background:#bf8700}.delete{background:#cf222e}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}pre{background:#f5f6f8;padding:10px;border-radius:6px;overflow:auto;white-space:pre-wrap}
.table{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #e1e4e8;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f5f6f8;overflow-wrap:normal}
.responses{padding-left:18px}.responses li{margin:4px 0}
.muted{color:#6a737d}summary{cursor:pointer;color:#6a737d;font-size:13px;margin-top:6px}
@media (max-width:800px){body{display:block}nav{position:static;height:auto;width:auto;border-right:0;border-bottom:1px solid #e1e4e8}main{padding:12px}article{padding:4px 10px 10px}th,td{padding:3px 4px}}
`;
