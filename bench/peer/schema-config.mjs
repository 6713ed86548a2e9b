// Only for regenerating schema.mjs with the better-auth CLI (see README.md in this folder).
import { createAuth } from './auth.mjs';

export const auth = createAuth({ databaseUrl: 'postgres://postgres@127.0.0.1:5432/postgres', baseURL: 'http://localhost:3000', secret: 'x'.repeat(32) }).auth;
