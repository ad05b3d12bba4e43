// Every workflow type the worker registers. Workflows import activity *types* only.
export { smokeWorkflow } from './smoke';
