// Preloaded into a CLI run (NODE_OPTIONS=--require): Node's fetch gives up waiting for an answer's headers
// after 1 s instead of undici's default 300 s, so a test sees in seconds what a user sees after 5 minutes.
const { Agent, setGlobalDispatcher } = require('undici');
setGlobalDispatcher(new Agent({ headersTimeout: 1000 }));
