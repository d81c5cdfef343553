export * from './record';
export { Ring } from './ring';
export { RequestTracker, liveTokensPerSecond } from './requestTracker';
export type { ActiveRequest, RequestTrackerEvents, RequestTrackerOptions } from './requestTracker';
export { ValidationError } from './errors';
export { BurstTracker } from './burstTracker';
export type { BurstTrackerOptions } from './burstTracker';
export { ProviderPerformanceTracker } from './performanceTracker';
export type {
  ProviderPerformanceMetrics,
  ProviderPerformanceTrackerOptions,
  SessionTokenUsage,
} from './performanceTracker';
export { SummaryMetrics, runningTotals } from './summaryMetrics';
export type { SummaryMetricsOptions } from './summaryMetrics';
export { runningTotalsQueryFrom } from './runningTotals';
export type {
  ModelTotals,
  ProviderTotals,
  RunningTotals,
  RunningTotalsQuery,
  SectionTriple,
} from './runningTotals';
export { ERROR_CATEGORIES } from './section';
export type { ErrorCounts, SectionTotals } from './section';
export { RELATIVE_ACCURACY } from './quantiles';
export type { Quantiles } from './quantiles';
export { compileGlob } from './glob';
export { modelKey, splitKey } from './rollup';
export { formatSummaryLine } from './summaryLine';
export { HistoryStore } from './historyStore';
export type { HistoryLogger, HistoryRange, HistoryStoreOptions, LoadResult } from './historyStore';
export { RECORD_FIELDS, parseRecord, serializeRecord } from './recordFields';
export { recordsToCsv, recordsToJson } from './exportFormat';
