/*
 * The package's entry (`import { Vb365SyncMonitor } from 'vb365-sync-monitor'`): the construct, its configuration
 * schema and the event contract's types. The event contract's JSON Schema is `vb365-sync-monitor/event-schema.json`,
 * the configuration's `vb365-sync-monitor/config-schema.json`.
 */

export {
  type CredentialsSource,
  createdSecretName,
  type MonitorConfig,
  MonitorConfigError,
  type ResolvedConfig,
  type ResolvedServer,
  resolveConfig,
  type ServerEntry,
} from '../lambda/config-schema.js';
export type { Digest } from '../lambda/domain/contract-digest.js';
export type { Impact, RepositoryProblem } from '../lambda/domain/contract-repository.js';
export type { CertificateInfo, PollingGap, ServerProblem } from '../lambda/domain/contract-server.js';
export type { MonitorSummary, Reminder, SessionSnapshot, SummaryItem } from '../lambda/domain/contract-session.js';
export type { Estimate } from '../lambda/domain/estimate.js';
export {
  EVENT_TYPES,
  type EventGroup,
  type EventType,
  type GroupItem,
  type HeldItem,
  type HeldSummary,
  type MonitorEvent,
  SEVERITY,
  type ServerRef,
  type Severity,
} from '../lambda/domain/events.js';
export type { SessionState } from '../lambda/domain/types.js';
export { addMonitorOutputs } from './monitor-stack.js';
export { Vb365SyncMonitor, type Vb365SyncMonitorProps } from './sync-monitor.js';
