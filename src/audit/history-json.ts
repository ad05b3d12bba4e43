import path from 'node:path';
import type * as protoTypes from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import type { HistoryLike } from './history';

/**
 * History ⇄ the JSON format of Temporal's tools (`temporal workflow show --output json`).
 *
 * `@temporalio/common`'s historyToJSON/historyFromJSON do the same, but they load protobufjs's
 * protojson from their own copy of protobufjs; when npm installs a second copy for
 * `@temporalio/proto` (as here), its reflection types fail protojson's `instanceof Type` check
 * ("type must be a Type"). So this module loads protojson from the copy the proto types use.
 */
interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, opts?: { ignoreUnknownFields?: boolean }): unknown;
}

const protoDir = path.dirname(require.resolve('@temporalio/proto/package.json'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [protoDir] })) as ProtoJson;
// require, not import: the root must be the CommonJS module object itself (bundlers wrap ESM namespaces).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const proto = require('@temporalio/proto') as typeof protoTypes;
const patched = patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown };
const historyType = patched.lookupType('temporal.api.history.v1.History');
const History = proto.temporal.api.history.v1.History;

export type History = protoTypes.temporal.api.history.v1.IHistory;

/** The history as Temporal's canonical JSON (a plain object, ready for JSON.stringify). */
export function historyToJSONObject(history: History): unknown {
  return protojson.toJson(historyType, History.fromObject(history as Record<string, unknown>));
}

/** Parses Temporal's canonical history JSON (as written by historyToJSONObject or the CLI). */
export function historyFromJSONObject(json: unknown): History & HistoryLike {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { events?: unknown }).events)) {
    throw new TypeError('invalid history JSON: expected an object with an array "events"');
  }
  const loaded = protojson.fromJson(historyType, json, { ignoreUnknownFields: true });
  if (!loaded) throw new TypeError('invalid history JSON');
  return loaded as History & HistoryLike;
}
