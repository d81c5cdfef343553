// Deep imports of undici keep fetch, WebSocket, caches and mocks out of our bundles (≈ 300 KB);
// the hot path needs only an Agent and the error classes. Types come from undici's own.
declare module 'undici/lib/dispatcher/agent.js' {
  import { Agent } from 'undici';
  export = Agent;
}
declare module 'undici/lib/core/errors.js' {
  import { errors } from 'undici';
  export = errors;
}
