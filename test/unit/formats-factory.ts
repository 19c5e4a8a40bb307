/**
 * Test factory of TripEvents for the formats tests: five real rows of the bundled taxi sample
 * (data/nyc-tlc/yellow_tripdata_2018-01_sample.csv), converted by hand (local New York time in
 * winter is UTC-5), with overrides per test.
 */
import { createDecoder, loadSchema } from '../../processor/formats/index.js';
import type { DecodedEvent } from '../../processor/formats/index.js';

/** A TripEvent as JSON-ready fields; `trip_id` may be a bigint (written as an exact integer). */
export type TripEventFields = Record<string, unknown>;

/** The sample rows (CSV line numbers 2, 3, 60, 116, 367), without trip_id. */
export const SAMPLE_ROWS: readonly TripEventFields[] = [
  // 1,"1/1/2018, 2:21:05 AM","1/1/2018, 2:24:23 AM",1,0.5,1,N,41,24,2,4.5,0.5,0.5,0,0,0.3,5.8
  row(1, '2018-01-01T07:21:05.000Z', '2018-01-01T07:24:23.000Z', 1, 0.5, 1, 41, 24, 2, [4.5, 0.5, 0.5, 0, 0, 0.3, 5.8]),
  // 1,"1/1/2018, 2:44:55 AM","1/1/2018, 3:03:05 AM",1,2.7,1,N,239,140,2,14,0.5,0.5,0,0,0.3,15.3
  row(1, '2018-01-01T07:44:55.000Z', '2018-01-01T08:03:05.000Z', 1, 2.7, 1, 239, 140, 2, [14, 0.5, 0.5, 0, 0, 0.3, 15.3]),
  // a refund: 2,"1/1/2018, 3:02:39 AM","1/1/2018, 3:04:02 AM",2,0.09,1,N,87,87,4,-3,-0.5,-0.5,0,0,-0.3,-4.3
  row(2, '2018-01-01T08:02:39.000Z', '2018-01-01T08:04:02.000Z', 2, 0.09, 1, 87, 87, 4, [-3, -0.5, -0.5, 0, 0, -0.3, -4.3]),
  // unknown zone 264: 1,"1/1/2018, 2:27:43 AM","1/1/2018, 2:39:13 AM",2,5.7,1,N,264,264,4,17.5,0.5,0.5,0,0,0.3,18.8
  row(1, '2018-01-01T07:27:43.000Z', '2018-01-01T07:39:13.000Z', 2, 5.7, 1, 264, 264, 4, [17.5, 0.5, 0.5, 0, 0, 0.3, 18.8]),
  // December 2017: 2,"12/31/2017, 2:12:14 PM","12/31/2017, 2:27:26 PM",1,2.91,1,N,143,141,1,12.5,0.5,0.5,1.38,0,0.3,15.18
  row(2, '2017-12-31T19:12:14.000Z', '2017-12-31T19:27:26.000Z', 1, 2.91, 1, 143, 141, 1, [12.5, 0.5, 0.5, 1.38, 0, 0.3, 15.18]),
];

function row(
  vendor: number, pickup: string, dropoff: string, passengers: number, distance: number, ratecode: number,
  puLocation: number, doLocation: number, payment: number, amounts: readonly number[],
): TripEventFields {
  const [fare, extra, mtaTax, tip, tolls, surcharge, total] = amounts;
  return {
    vendor_id: vendor, pickup_datetime: pickup, dropoff_datetime: dropoff, passenger_count: passengers,
    trip_distance: distance, ratecode_id: ratecode, store_and_fwd_flag: 'N', pickup_location_id: puLocation,
    dropoff_location_id: doLocation, payment_type: payment, fare_amount: fare, extra, mta_tax: mtaTax,
    tip_amount: tip, tolls_amount: tolls, improvement_surcharge: surcharge, total_amount: total, type: 'trip',
  };
}

/** The `index`-th sample row (cycling) with trip_id `index + 1`, then the overrides. */
export function tripEvent(index = 0, overrides: TripEventFields = {}): TripEventFields {
  return { ...(SAMPLE_ROWS[index % SAMPLE_ROWS.length] as TripEventFields), trip_id: index + 1, ...overrides };
}

/** JSON text of an event; bigints are written as exact JSON integers. */
export function toJson(fields: TripEventFields): string {
  const placeholders = new Map<string, string>();
  const text = JSON.stringify(fields, (_key, value: unknown) => {
    if (typeof value !== 'bigint') return value;
    const mark = `@@bigint${placeholders.size}@@`;
    placeholders.set(mark, value.toString());
    return mark;
  });
  return text.replace(/"@@bigint\d+@@"/g, (m) => placeholders.get(m.slice(1, -1)) as string);
}

/** UTF-8 bytes of an event's JSON, as a record arrives from a stream. */
export function toRecord(fields: TripEventFields | string): Uint8Array {
  return new TextEncoder().encode(typeof fields === 'string' ? fields : toJson(fields));
}

/** Decoded TripEvents (through the real decoder), failing the test on a rejection. */
export async function decodedTripEvents(list: readonly TripEventFields[]): Promise<DecodedEvent[]> {
  const decode = createDecoder(await loadSchema('TripEvent'));
  return list.map((fields) => {
    const result = decode(toRecord(fields));
    if (!result.ok) throw new Error(`factory event rejected: ${result.reason}`);
    return result.event;
  });
}
