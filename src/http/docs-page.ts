import type { OpenApiDocument, OpenApiOperation, OpenApiParameter } from './openapi';

/*
 * The API reference at GET /docs: plain HTML rendered on the server from the OpenAPI document,
 * with inline styles and no script, so it loads nothing from anywhere.
 */

type JsonSchema = Record<string, unknown>;

const escape = (value: unknown): string =>
  String(value).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];

/** Escaped text with `code spans` (the one bit of Markdown the descriptions use) rendered. */
const prose = (value: unknown): string => escape(value).replace(/`([^`]+)`/g, '<code>$1</code>');

export function renderDocsPage(doc: OpenApiDocument): string {
  const byTag = new Map<string, { method: string; path: string; operation: OpenApiOperation }[]>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const tag = operation.tags[0] ?? 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push({ method, path, operation });
    }
  }
  // The API first; the server's own plumbing (health checks, these docs) last.
  const last = ['health', 'docs'];
  const tags = [...byTag.keys()].sort((a, b) => Number(last.includes(a)) - Number(last.includes(b)));

  const nav = tags
    .map(
      (tag) =>
        `<li><span class="tag">${escape(tag)}</span><ul>${byTag
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
        `<section><h2>${escape(tag)}</h2>${byTag
          .get(tag)!
          .map(({ method, path, operation }) => renderOperation(method, path, operation))
          .join('')}</section>`,
    )
    .join('');

  const schemes = Object.entries(doc.components.securitySchemes)
    .map(([name, s]) => `<li><code>${escape(name)}</code>: ${prose(s.description ?? '')}</li>`)
    .join('');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(doc.info.title)} — API reference</title>
<style>${STYLE}</style>
</head>
<body>
<nav><h1>${escape(doc.info.title)}</h1><p class="muted">v${escape(doc.info.version)} · <a href="/openapi.json">openapi.json</a></p><ul>${nav}</ul></nav>
<main>
<header>
<h1>${escape(doc.info.title)} <small>${escape(doc.info.version)}</small></h1>
${doc.info.description ? `<p>${prose(doc.info.description)}</p>` : ''}
<p>The machine-readable OpenAPI 3.1 document is at <a href="/openapi.json"><code>/openapi.json</code></a>.</p>
<h3>Credentials</h3><ul>${schemes}</ul>
<h3>Errors</h3>
<p>Every error answers JSON of this shape; <code>issues</code> comes with <code>invalid_request</code>.</p>
<pre>{ "error": { "code": "snake_case_code", "message": "human text", "issues": [ … ] } }</pre>
</header>
${sections}
</main>
</body>
</html>
`;
}

function renderOperation(method: string, path: string, op: OpenApiOperation): string {
  const security = op.security?.map((s) => Object.keys(s)[0]).join(', ');
  const params = op.parameters?.length ? `<h4>Parameters</h4>${renderParameters(op.parameters)}` : '';
  const body = op.requestBody
    ? Object.entries(op.requestBody.content)
        .map(([type, { schema }]) => `<h4>Body <code>${escape(type)}</code></h4>${renderSchema(schema)}`)
        .join('')
    : '';
  const responses = Object.entries(op.responses)
    .filter(([status]) => status !== 'default')
    .map(([status, r]) => `<li><code>${escape(status)}</code> ${prose((r as { description?: string }).description ?? '')}</li>`)
    .join('');
  return `<article id="${escape(op.operationId)}">
<h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3>
${op.summary ? `<p><strong>${prose(op.summary)}</strong></p>` : ''}
${op.description ? `<p>${prose(op.description)}</p>` : ''}
<p class="muted">${security ? `Credentials: ${escape(security)}.` : 'No credentials needed.'}</p>
${params}${body}
<h4>Responses</h4><ul>${responses}<li><code>4XX/5XX</code> the error shape above</li></ul>
</article>`;
}

function renderParameters(parameters: OpenApiParameter[]): string {
  const rows = parameters
    .map(
      (p) =>
        `<tr><td><code>${escape(p.name)}</code></td><td>${p.in}</td><td>${p.required ? 'yes' : 'no'}</td><td>${escape(typeOf(p.schema))}</td><td>${escape(p.description ?? '')}</td></tr>`,
    )
    .join('');
  return `<table><tr><th>name</th><th>in</th><th>required</th><th>type</th><th>description</th></tr>${rows}</table>`;
}

function renderSchema(schema: JsonSchema): string {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  const json = `<details><summary>JSON Schema</summary><pre>${escape(JSON.stringify(schema, null, 2))}</pre></details>`;
  if (schema.type !== 'object' || !properties) return json;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const rows = Object.entries(properties)
    .map(
      ([name, p]) =>
        `<tr><td><code>${escape(name)}</code></td><td>${required.has(name) ? 'yes' : 'no'}</td><td>${escape(typeOf(p))}</td><td>${escape(
          (p.description as string | undefined) ?? '',
        )}</td></tr>`,
    )
    .join('');
  return `<table><tr><th>field</th><th>required</th><th>type</th><th>description</th></tr>${rows}</table>${json}`;
}

/** A one-line reading of a JSON Schema: `string, 1–512 chars`, `"otp" | "passkey"`, … */
function typeOf(schema: JsonSchema): string {
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if ('const' in schema) return JSON.stringify(schema.const);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options)) return options.map((o) => typeOf(o as JsonSchema)).join(' | ');
  }
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : String(schema.type ?? 'any');
  const extras: string[] = [];
  if (schema.format) extras.push(String(schema.format));
  if (schema.minLength !== undefined || schema.maxLength !== undefined) {
    extras.push(`${schema.minLength ?? 0}–${schema.maxLength ?? '∞'} chars`);
  }
  if (schema.pattern) extras.push(`pattern ${schema.pattern}`);
  const safe = (n: unknown) => (typeof n === 'number' && Math.abs(n) < Number.MAX_SAFE_INTEGER ? n : undefined);
  const min = safe(schema.minimum);
  const max = safe(schema.maximum);
  if (min !== undefined || max !== undefined) extras.push(`${min ?? '−∞'}…${max ?? '∞'}`);
  if (schema.default !== undefined) extras.push(`default ${JSON.stringify(schema.default)}`);
  if (type === 'array' && schema.items) return `array of ${typeOf(schema.items as JsonSchema)}`;
  return extras.length ? `${type}, ${extras.join(', ')}` : type;
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d2330;display:flex}
nav{position:sticky;top:0;height:100vh;overflow:auto;width:300px;flex:none;background:#f5f6f8;border-right:1px solid #e1e4e8;padding:16px;font-size:13px}
nav h1{font-size:16px;margin:0}nav ul{list-style:none;padding-left:0;margin:4px 0}nav ul ul{padding-left:4px}nav a{color:inherit;text-decoration:none;display:block;padding:2px 0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
nav a:hover{text-decoration:underline}.tag{font-weight:600;display:block;margin-top:10px}
main{padding:24px 40px;max-width:980px;min-width:0}header h1 small{font-size:14px;color:#6a737d}
article{border:1px solid #e1e4e8;border-radius:6px;padding:4px 18px 12px;margin:16px 0}
h2{border-bottom:1px solid #e1e4e8;padding-bottom:4px;margin-top:40px}h3{font-size:17px}h4{margin:14px 0 6px}
.m{display:inline-block;min-width:58px;text-align:center;border-radius:4px;padding:1px 6px;font:600 12px/18px ui-monospace,monospace;color:#fff;background:#6a737d}
.get{background:#2f7ed8}.post{background:#2da44e}.put,.patch{background:#bf8700}.delete{background:#cf222e}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}pre{background:#f5f6f8;padding:10px;border-radius:6px;overflow:auto}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #e1e4e8;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f5f6f8}
.muted{color:#6a737d}summary{cursor:pointer;color:#6a737d;font-size:13px;margin-top:6px}
@media (max-width:800px){body{display:block}nav{position:static;height:auto;width:auto}main{padding:16px}}
`;
