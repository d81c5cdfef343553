export * from './record';
export { Ring } from './ring';
export { RequestTracker, liveTokensPerSecond } from './requestTracker';
export type { ActiveRequest, RequestTrackerEvents, RequestTrackerOptions } from './requestTracker';
