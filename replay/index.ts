/** The replay tool: historic events into a Kinesis stream, paced by event time. */
export { replay } from './replay.js';
export type { ReplayOptions, ReplaySummary, ReplayEvent, TripEvent, InputFormat } from './types.js';
export { ReplayError, ReplayInputError, InvalidRowError } from './errors.js';
export { REPLAY_DEFAULTS } from './constants.js';
export { REPLAY_FLAGS, optionsFromFlags } from './flags.js';
export { convertTlcRow, parseCsvLine, parseTlcTimestamp, tlcLayoutFromHeader, TLC_COLUMNS, TLC_SAMPLE_HEADER, DEFAULT_TLC_LAYOUT } from './csv.js';
export type { ConvertedTrip, TlcLayout } from './csv.js';
export { tripId, fnv1a64 } from './trip-id.js';
export { localToUtc, zoneOffsetMs, NEW_YORK } from './time-zone.js';
export { Pacer, systemClock } from './pacer.js';
export type { Clock } from './pacer.js';
export { ReorderBuffer } from './reorder.js';
export { readEvents, formatFromName, parseTimestampValue } from './input/events.js';
export type { InputItem } from './input/events.js';
export { readLines, isGzip } from './input/lines.js';
export { listLocalObjects, listS3Objects, parseS3Url } from './input/objects.js';
export type { InputObject, S3Location } from './input/objects.js';
