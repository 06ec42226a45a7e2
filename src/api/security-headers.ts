import type { FastifyInstance } from 'fastify';

/**
 * The policy of our one HTML page, /docs (swagger-ui, served by @fastify/swagger-ui): its scripts and
 * stylesheets are files of our own origin (no inline `<script>`, one inline `<style>` allowed by its hash;
 * React's style props go through the CSSOM, which CSP does not block), its icons are data: URIs in its CSS, and it fetches the
 * OpenAPI document and "Try it out" requests from our origin. Nothing else is allowed, and no page may frame it
 * (clickjacking with a key typed into "Authorize"). The OAuth2 redirect page of swagger-ui, with its inline
 * script, is left unable to run: we use bearer keys, not OAuth2.
 */
export const htmlPolicy = [
  // The one inline style: the `<style>` inside swagger-ui's logo SVG (`.logo_small_svg__cls-2{fill:#fff}…`),
  // allowed by its hash rather than with 'unsafe-inline'. Another swagger-ui version may change it: the
  // browser test of /docs fails on any violation.
  "default-src 'none'", "script-src 'self'", "style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='",
  "img-src 'self' data:", "font-src 'self' data:", "connect-src 'self'", "base-uri 'none'", "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Everything else (JSON, CSV, the stream, errors) is data, never a document: it may load nothing and be framed nowhere. */
export const dataPolicy = "default-src 'none'; frame-ancestors 'none'";

/** Headers every answer carries whatever its type (security-headers' hook below, and the ingest's front). */
export const everyAnswerHeaders = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' } as const;

/**
 * Headers on every answer (SPEC: "Strict CSP on every page"): the Content-Security-Policy above (HTML gets
 * the page's, everything else the data one), `X-Content-Type-Options: nosniff` (a browser must not run a JSON
 * or CSV answer holding a sender's text as HTML or script) and `Referrer-Policy: no-referrer` (an
 * `access_token` in our URL must not leak to a link's target).
 *
 * @example
 * securityHeaders(server); // before the routes are registered
 */
export function securityHeaders(app: FastifyInstance): void {
  // A callback hook, not an async one: it runs on every answer, the ingest's included.
  app.addHook('onSend', (_request, reply, payload, done) => {
    const type = reply.getHeader('content-type');
    const html = typeof type === 'string' && type.startsWith('text/html');
    // A page with its own policy (the dashboard's, api/dashboard.ts) keeps it.
    if (!reply.hasHeader('content-security-policy')) void reply.header('content-security-policy', html ? htmlPolicy : dataPolicy);
    void reply.headers(everyAnswerHeaders);
    done(null, payload);
  });
}
