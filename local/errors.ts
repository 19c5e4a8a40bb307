import { EtlError } from '../common/errors.js';

/** A local service failed to start, or a resource on it could not be created. */
export class LocalServiceError extends EtlError {}
