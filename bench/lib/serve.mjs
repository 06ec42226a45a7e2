// How bench/'s own servers (the baselines, the webhook sink) run: on 127.0.0.1 on a port of the OS's
// choosing, printed alone on a line on stdout (startScriptServer in servers.mjs reads it), until SIGTERM or
// SIGINT, on which they close every connection and exit 0.
export function serve(server) {
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${server.address().port}\n`);
  });
  const shutdown = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
