import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * Where `npm run build` puts the dashboard (web/vite.config.ts): `dist/web/`, found from this file
 * whether it runs compiled (dist/api/) or from source in tests (src/api/).
 */
export const dashboardDir = fileURLToPath(new URL('../../dist/web/', import.meta.url));

/**
 * The dashboard's pages (DASHBOARD.md "Routes"): each answers the app's HTML, so a reload or a shared link
 * works; the app picks the page from the path. Unknown `/v1/…` paths stay 404 JSON (they are not here).
 */
export const dashboardPaths = [
  '/', '/login', '/setup', '/calls', '/calls/:callId', '/analytics', '/webhooks', '/webhooks/:destinationId', '/deliveries',
  '/quarantine', '/settings', '/settings/:tab',
] as const;

/**
 * The dashboard's policy: its scripts and styles are files of this origin (Vite emits no inline script;
 * web/vite.config.ts), it talks only to this origin (the API and the stream), images only from itself or
 * data: URIs. Recordings play from Convolo's host, so media may come from any https origin: media cannot
 * run script, and the recording's host is not known in advance (http is not allowed: an https page could
 * not play it anyway, and the player shows such a link as a link). Forms post only here; nothing may frame it.
 */
export const dashboardPolicy = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'", "media-src 'self' https:",
  "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'",
].join('; ');

const missingBuild = `<!doctype html><meta charset="utf-8"><title>Switchboard</title>
<p>The dashboard is not built. Run <code>npm run build</code> (npm start does it), then reload.</p>`;

/**
 * Serves the dashboard: the HTML for its pages (never cached: it names the current hashed files) and
 * `/assets/…` (content-hashed names, so cached for a year and immutable).
 *
 * @example
 * await server.register(dashboardRoutes, { dir: dashboardDir });
 */
export async function dashboardRoutes(app: FastifyInstance, options: { dir?: string } = {}): Promise<void> {
  const dir = options.dir ?? dashboardDir;
  const indexPath = `${dir}index.html`;
  const built = existsSync(indexPath);
  // Read once: the build does not change under a running server.
  const html = built ? readFileSync(indexPath) : Buffer.from(missingBuild);

  const page = async (_request: unknown, reply: FastifyReply) =>
    reply
      .code(built ? 200 : 503)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', dashboardPolicy)
      .send(html);
  for (const path of dashboardPaths) app.get(path, { schema: { hide: true } }, page);

  if (built) {
    await app.register(fastifyStatic, {
      root: `${dir}assets`,
      prefix: '/assets/',
      decorateReply: false,
      index: false,
      wildcard: true,
      immutable: true,
      maxAge: '365d',
      cacheControl: true,
      // Only the built files: a request for anything else is the usual 404 JSON.
      allowedPath: (pathName) => /^\/[\w.-]+$/.test(pathName),
    });
  }
}
