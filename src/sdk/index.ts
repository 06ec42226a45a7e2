/** The public SDK (`switchboard/sdk`): imports only `domain/` and its own modules, never server code. */
export {};
