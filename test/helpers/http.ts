/** How the HTTP tests talk to an app, in-process or over the network. */
export interface RequestOptions {
  body?: unknown;
  /** Sent as `Authorization: Bearer`. */
  token?: string;
  headers?: Record<string, string>;
}

export interface TestResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** Sends a JSON request through `send` and parses the answer (JSON when it is JSON, else text). */
export async function sendRequest<T = any>(
  send: (path: string, init: RequestInit) => Response | Promise<Response>,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<TestResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  return readAnswer<T>(await send(path, { method, headers, body }));
}

/** An answer's status, headers and body: parsed JSON when it is JSON, else its text (a page), null when empty. */
export async function readAnswer<T = any>(res: Response): Promise<TestResponse<T>> {
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}
