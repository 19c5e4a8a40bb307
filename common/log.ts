/**
 * Structured logging: one JSON object per line on stderr, with a timestamp, a level, the
 * component and a message, plus any fields. stdout stays free for a program's real output
 * (etl-local's JSON line, a summary).
 */
import { describeError } from './errors.js';

/** The log levels, lowest first. */
export const LOG_LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
/** A log level name. */
export type LogLevel = keyof typeof LOG_LEVELS;

/** Fields attached to a log line. Errors are rendered with their cause chain. */
export type LogFields = Record<string, unknown>;

/** A structured logger bound to a component. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger for a sub-component, sharing the sink and level, with extra fixed fields. */
  child(component: string, fields?: LogFields): Logger;
}

/** Where log lines go; defaults to stderr. Tests pass their own. */
export type LogSink = (line: string) => void;

function levelFromEnv(): LogLevel {
  const raw = (process.env.LOG_LEVEL ?? 'info').toLowerCase();
  return raw in LOG_LEVELS ? (raw as LogLevel) : 'info';
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) return describeError(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** Creates a logger for a component. The level comes from `LOG_LEVEL` unless given. */
export function createLogger(
  component: string,
  options: { level?: LogLevel; sink?: LogSink; fields?: LogFields } = {},
): Logger {
  const threshold = LOG_LEVELS[options.level ?? levelFromEnv()];
  const sink: LogSink = options.sink ?? ((line) => process.stderr.write(`${line}\n`));
  const fixed = options.fields ?? {};
  const write = (level: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields): void => {
    if (LOG_LEVELS[level] < threshold) return;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level, component, msg: message, ...fixed };
    if (fields) for (const [key, value] of Object.entries(fields)) entry[key] = serialise(value);
    sink(JSON.stringify(entry));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (sub, f) =>
      createLogger(`${component}.${sub}`, {
        level: options.level ?? levelFromEnv(),
        sink,
        fields: { ...fixed, ...(f ?? {}) },
      }),
  };
}
