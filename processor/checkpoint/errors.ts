import { EtlError } from '../../common/errors.js';

/** A checkpoint could not be taken, persisted, committed or recovered. */
export class CheckpointError extends EtlError {}

/** This worker no longer owns the checkpoint: another worker took over. Never retriable: stop. */
export class FencedError extends CheckpointError {}

/** A checkpoint protocol call in the wrong state (a programmer error). */
export class IllegalCheckpointStateError extends CheckpointError {}
