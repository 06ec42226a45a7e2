// The baseline for the ingest benchmark: the least an HTTP server on node:http can do for a webhook.
// It reads the whole request body (kept in memory, as any real handler must) and answers
// 200 {"ok":true}. No parsing, no storage. Switchboard's numbers are printed as ratios to this one,
// measured in the same run on the same machine.
//
// Usage: node bench/baseline-server.mjs
// Listens on 127.0.0.1 on a port chosen by the OS and prints that port, alone on a line, on stdout.
// Exits 0 on SIGTERM or SIGINT.
import http from 'node:http';
import { serve } from './lib/serve.mjs';

const ANSWER = Buffer.from('{"ok":true}');

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    Buffer.concat(chunks); // the whole body, as a real handler would have it
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': ANSWER.length });
    res.end(ANSWER);
  });
  req.on('error', () => res.destroy());
});

serve(server);
