import { EtlError } from '../../common/errors.js';

/** Writing to, pre-committing or committing a sink failed. */
export class SinkError extends EtlError {}
