/**
 * The processor CLI (scripts/launch/etl-processor.mjs) as a child process for tests: started with
 * an environment, its JSON log lines (stderr) parsed as they arrive, the latest status line at
 * hand, killed with any signal, and a promise of its exit with every line it logged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** One parsed log line (a line that is not JSON is kept as `{ text }`). */
export type LogLine = Record<string, unknown>;

/** A worker's last `n` log lines, one JSON text each, for failure messages. */
export function tailLines(lines: readonly LogLine[], n = 10): string {
  return lines
    .slice(-n)
    .map((l) => JSON.stringify(l))
    .join('\n');
}

/** How a CLI process ended. */
export interface CliExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly lines: readonly LogLine[];
}

/** A running processor CLI. */
export interface CliProcessor {
  readonly child: ChildProcess;
  /** Every line logged so far. */
  readonly lines: readonly LogLine[];
  /** The latest status line (`msg: 'status'`), if any yet. */
  status(): LogLine | undefined;
  /** The latest eventsIn from the status lines (0 before the first). */
  eventsIn(): number;
  /** The run id (lease owner) from the `starting` line, once logged. */
  runId(): string | undefined;
  /** Lines with this message. */
  find(msg: string): LogLine[];
  /** Sends a signal (no-op once exited). */
  kill(signal: NodeJS.Signals): void;
  /** Whether it has exited. */
  hasExited(): boolean;
  /** Settles when the process exits. */
  readonly exited: Promise<CliExit>;
}

/** Starts the processor CLI with `env` on top of PATH (and the SDK's Node-version warning off). */
export function startCliProcessor(env: Readonly<Record<string, string>>, options: { echo?: boolean } = {}): CliProcessor {
  const child = spawn(process.execPath, [join(ROOT, 'scripts/launch/etl-processor.mjs')], {
    env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: LogLine[] = [];
  let latest: LogLine | undefined;
  let runId: string | undefined;
  let buffer = '';
  let exitedNow = false;
  const take = (line: string): void => {
    if (line === '') return;
    if (options.echo) process.stderr.write(`[${child.pid}] ${line}\n`);
    let parsed: LogLine;
    try {
      const value: unknown = JSON.parse(line);
      parsed = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as LogLine) : { text: line };
    } catch {
      parsed = { text: line };
    }
    lines.push(parsed);
    if (parsed.msg === 'status') latest = parsed;
    if (parsed.msg === 'starting' && typeof parsed.worker === 'string') runId = parsed.worker;
  };
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      take(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  });
  const exited = new Promise<CliExit>((resolveExit) =>
    child.on('close', (code, signal) => {
      exitedNow = true;
      take(buffer);
      buffer = '';
      resolveExit({ code, signal, lines });
    }),
  );
  return {
    child,
    lines,
    status: () => latest,
    eventsIn: () => (typeof latest?.eventsIn === 'number' ? latest.eventsIn : 0),
    runId: () => runId,
    find: (msg) => lines.filter((l) => l.msg === msg),
    kill: (signal) => {
      if (!exitedNow && child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    hasExited: () => exitedNow,
    exited,
  };
}
