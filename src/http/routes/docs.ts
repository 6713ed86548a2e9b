import { Hono } from 'hono';
import type { RouterRoute } from 'hono/types';
import { renderDocsPage } from '../docs-page';
import type { AppEnv } from '../env';
import { createOpenApiDocument, type OpenApiDocument } from '../openapi';
import { describe } from '../route-docs';
import { pagePolicy } from '../security-headers';

const INFO = {
  title: 'Passwordless auth API',
  version: '0.1.0',
  description:
    'Email one-time codes, passkeys, sessions and SpacetimeDB-compatible identity tokens. Request schemas are generated from the validators the server runs.',
};

// The page is server-rendered HTML with inline styles and no script.
const docsPolicy = pagePolicy({ styleSrc: ["'unsafe-inline'"] });

/**
 * `GET /openapi.json` and the `GET /docs` reference page. `routes` reads the whole app's route
 * table; it is read on the first request, when every group is mounted, and the result is kept.
 */
export function docsRoutes(routes: () => readonly RouterRoute[]) {
  let document: OpenApiDocument | undefined;
  let page: string | undefined;
  const openApi = () => (document ??= createOpenApiDocument(routes(), INFO));
  return new Hono<AppEnv>()
    .get('/openapi.json', describe({ summary: 'This API as an OpenAPI 3.1 document', tags: ['docs'], responses: { 200: 'The document.' } }), (c) =>
      c.json(openApi() as unknown as Record<string, never>, 200),
    )
    .get('/docs', describe({ summary: 'This API reference as an HTML page', tags: ['docs'], responses: { 200: 'HTML.' } }), docsPolicy, (c) => {
      page ??= renderDocsPage(openApi());
      return c.html(page, 200);
    });
}
