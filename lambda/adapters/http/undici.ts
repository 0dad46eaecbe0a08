import api from 'undici/lib/api/index.js';
import Agent from 'undici/lib/dispatcher/agent.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import retry from 'undici/lib/interceptor/retry.js';

/*
 * The slice of undici the VB365 client and the channel senders use (Agent, the request API, the retry interceptor),
 * imported from its modules rather than from undici's entry point, which also loads fetch, WebSocket, caches, proxies
 * and mocks: undici's share of the Lambda bundle drops from 534 KB to 309 KB. These are internal paths of the pinned
 * undici 7.30.2; the client tests and the bundle-load test fail if an upgrade moves them.
 */

// What undici's entry point does to give every dispatcher `request()`.
Object.assign(Dispatcher.prototype, api);

export { Agent, retry };
