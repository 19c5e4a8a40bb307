/** Defaults of the replay tool (those of amazon-kinesis-replay where it has one). */
export const REPLAY_DEFAULTS = {
  /** As amazon-kinesis-replay: 6480× real time (1.8 hours of events per wall-clock second). */
  speedup: 6480,
  /** As amazon-kinesis-replay. */
  timestampAttribute: 'dropoff_datetime',
  /** Statistics every 5 s. */
  statisticsFrequencyMs: 5000,
  /** Events held to restore timestamp order. */
  reorderWindow: 10_000,
  /** PutRecords requests in flight. */
  maxInFlight: 4,
  /** With --aggregate: the largest aggregate, as the KPL's AggregationMaxSize default. */
  aggregateMaxBytes: 51_200,
} as const;

/** With --aggregate: how long an open aggregate waits for more records (the KPL's RecordMaxBufferedTime default), ms. */
export const AGGREGATE_LINGER_MS = 100;

/** The exit code of etl-replay when it sent nothing (empty input, every row invalid or rejected). */
export const EXIT_NOTHING_SENT = 3;
