/** The table descriptor: a table's whole definition read from the catalog. */
export { readTableDescriptor, resolveTable, TableNotFoundError } from './read';
export { parseTableName, parseColumnName, qi, qualified, lit, withSuffix, spellTable, TableNameError, type TableName } from '../../../src/conversion/choice/names';
export type * from './types';
