/** Validation shared by the Kinesis source and the Kinesis sink: a stream given by name or ARN, with its region. */
import type { PropertyReader } from '../connector.js';

const STREAM_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const STREAM_ARN = /^arn:(aws[a-z-]*):kinesis:([a-z0-9-]+):(\d{12}):stream\/([A-Za-z0-9_.-]{1,128})$/;

/** A Kinesis stream as configured. */
export interface KinesisStream {
  /** Stream name (an ARN is reduced to its name, and its region used when no region is given). */
  readonly streamName: string;
  /** The stream ARN, when one was given. */
  readonly streamArn?: string;
  readonly region?: string;
}

/**
 * The stream of property `name` (a name or an ARN) with the region of property `regionName`, or the
 * ARN's region when that is unset; a region that contradicts the ARN is a problem. `name` must be set.
 */
export function parseStream<N extends string>(values: PropertyReader<N>, name: N, regionName: N): { streamName: string; streamArn?: string; region?: string } | undefined {
  const value = values.str(name) as string;
  const region = values.str(regionName);
  if (!value.startsWith('arn:')) {
    if (STREAM_NAME.test(value)) return { streamName: value, region };
    values.problem(name, 'expected a stream name (1 to 128 letters, digits, "_", "-" or ".") or an ARN such as arn:aws:kinesis:us-east-1:123456789012:stream/name');
    return undefined;
  }
  const match = STREAM_ARN.exec(value);
  if (!match) {
    values.problem(name, 'expected a Kinesis stream ARN such as arn:aws:kinesis:us-east-1:123456789012:stream/name');
    return undefined;
  }
  const arnRegion = match[2] as string;
  if (region !== undefined && region !== arnRegion) {
    values.problem(regionName, `contradicts the region ${arnRegion} of ${values.shown(name)}; leave it empty or make them agree`);
    return undefined;
  }
  return { streamName: match[4] as string, streamArn: value, region: arnRegion };
}
