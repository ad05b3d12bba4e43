/**
 * The typed client library of lichen-cutover, for automation:
 *
 * ```ts
 * import { connectClient, startProductionCutover, getCutoverHandle } from 'lichen-cutover/client';
 * ```
 *
 * (inside this repository: `import … from './src/client'`). Connection settings come from
 * Temporal's environment configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
 * TEMPORAL_PROFILE, …); the task queue from LICHEN_TASK_QUEUE (default "lichen-cutover").
 */
export { connectClient, resolveTemporalConfig, DEFAULT_TEMPORAL_ADDRESS, type TemporalConnectOptions, type ResolvedTemporalConfig } from './connect';
export {
  startProductionCutover,
  startConversion,
  startMaintenance,
  validateStartInput,
  defaultWorkflowId,
  defaultTaskQueue,
  DEFAULT_TASK_QUEUE,
  WORKFLOW_TYPES,
  type StartOptions,
  type WorkflowKind,
} from './start';
export { getCutoverHandle, type CutoverHandle, type OperatorActionName } from './handle';
export { CutoverAlreadyRunningError, CutoverNotFoundError, CutoverRejectedError, InvalidCutoverInputError, TemporalConnectionError } from './errors';

// The types the workflows use, so callers need no deep imports.
export type { ProductionCutoverInput, ProductionSettings } from '../../workflows/production-input';
export type { ProductionCutoverResult, CutoverOutcome } from '../../workflows/production';
export type { ConversionInput, ConversionSummary } from '../../workflows/conversion';
export type { MaintenanceInput, MaintenanceSummary } from '../../workflows/maintenance';
export type { AckResult } from '../../workflows/messages';
export type { OperatorAction, PersistenceMode, Progress, RecordedDecision, RollbackRecord, RunStatus } from '../../workflows/types';
export { statusQuery, approveUpdate, pauseUpdate, resumeUpdate, abortUpdate, extendUpdate, approveSignal, abortSignal } from '../../workflows/messages';
