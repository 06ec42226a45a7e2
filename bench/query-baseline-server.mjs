// The baseline for the query benchmark's list latency: a bare node:http server that answers every GET
// with a JSON body held in memory — the same bytes Switchboard answered for the case being measured,
// set beforehand with `PUT /_body`. No routing, no auth, no database, no serialisation: what is left is
// the HTTP round trip of a response of that size on this machine.
//
// Usage: node bench/query-baseline-server.mjs
// Listens on 127.0.0.1 on a port chosen by the OS and prints that port, alone on a line, on stdout.
// Exits 0 on SIGTERM or SIGINT.
import http from 'node:http';
import { serve } from './lib/serve.mjs';

let body = Buffer.from('{"data":[],"next_cursor":null}');

const server = http.createServer((req, res) => {
  if (req.method === 'PUT') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      body = Buffer.concat(chunks);
      res.writeHead(204);
      res.end();
    });
    return;
  }
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
});

serve(server);
