// Every workflow type the worker registers. Workflows import activity *types* only.
export { smokeWorkflow } from './smoke';
export { productionCutover } from './production';
export { heapToPartitionedConversion } from './conversion';
export { partitionMaintenance } from './maintenance';
