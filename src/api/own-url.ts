import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { publicBaseUrl, type Config } from '../config/index.js';

/**
 * An absolute URL of this server for `path` (an ingest URL, an invitation link): SWITCHBOARD_PUBLIC_URL when
 * set, else the address it listens on (the port it really got, when started on port 0).
 */
export function ownUrl(app: FastifyInstance, config: Readonly<Config>, path: string): string {
  const address = app.server.address();
  const port = address !== null && typeof address === 'object' ? (address as AddressInfo).port : config.port;
  return `${publicBaseUrl(config, port).replace(/\/$/, '')}${path}`;
}
