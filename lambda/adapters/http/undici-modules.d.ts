// Types for the undici modules imported directly by ./undici.ts (undici ships types for its entry point only).
declare module 'undici/lib/dispatcher/agent.js' {
  const Agent: typeof import('undici').Agent;
  export default Agent;
}
declare module 'undici/lib/dispatcher/dispatcher.js' {
  const Dispatcher: typeof import('undici').Dispatcher;
  export default Dispatcher;
}
declare module 'undici/lib/api/index.js' {
  const api: Record<string, unknown>;
  export default api;
}
declare module 'undici/lib/interceptor/retry.js' {
  const retry: typeof import('undici').interceptors.retry;
  export default retry;
}
