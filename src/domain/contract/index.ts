/**
 * The API's answers, each written once as a TypeBox schema (SPEC "Query API", "Administration", "Outbound
 * webhooks"): the presenters return their `Static` types, the routes give them to Fastify as
 * `schema.response` (so /openapi.json documents them), and the SDK derives its types from them. Pure
 * schemas, no I/O, so the SDK may import them.
 */
export * from './shared.js';
export * from './calls.js';
export * from './events.js';
export * from './deliveries.js';
export * from './destinations.js';
export * from './keys.js';
export * from './sources.js';
export * from './stats.js';
export * from './errors.js';
export * from './ops.js';
export * from './users.js';
export * from './about.js';
export * from './reconcile.js';
