/**
 * The public SDK (`switchboard/sdk`): types and validators for Convolo's payloads and Switchboard's events,
 * webhook verification and handlers, and Convolo's call API. It imports only `domain/` modules free of
 * server code and its own files; test/sdk-bundle.test.ts holds it to that.
 */
export * from './convolo.js';
export * from './envelope.js';
export { ValidationError, type ValidationProblem, type ValidationResult } from './validate.js';
export * from './verify.js';
export * from './handler.js';
export * from './node.js';
export * from './convolo-client.js';
export * from './client.js';
export * from './subscribe.js';
