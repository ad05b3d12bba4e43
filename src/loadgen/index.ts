/** The load generator and the oracle ("the judge of nothing lost"). */
export { startLoad, type LoadHandle, type LoadStats } from './generator';
export { resolveLoadOptions, LoadOptionsError, DEFAULT_MIX, type LoadOptions, type OpMix } from './load-options';
export { OpLog, OpLogError, type LoggedRecord, type OpLogJson, type OpType, type UnacknowledgedChange, type UnacknowledgedCreate } from './oplog';
export { checkOracle, formatVerdict, verdictPasses, judgeRecord, type OracleVerdict, type OracleOptions } from './oracle';
export { postgresReader } from './postgres-reader';
export { instancesReader } from './instances-reader';
export type { StoreReader, StoredRecord } from './store-reader';
export { seedRecords, SeedError, type SeedOptions } from './seed';
export { routeOwner, ownerHash } from './routing';
