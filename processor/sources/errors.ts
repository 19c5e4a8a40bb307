import { EtlError } from '../../common/errors.js';

/** Reading from the source failed. */
export class SourceError extends EtlError {}
