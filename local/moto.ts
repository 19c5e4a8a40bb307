/**
 * moto's server (PyPI `moto[server]`) as a local DynamoDB and, where a test needs S3 aborts and
 * ListMultipartUploads, a local S3. dynalite has no TransactWriteItems, and the lease table's
 * checkpoint is one transaction across leases, so DynamoDB is served by moto everywhere locally.
 *
 * moto is installed once into a virtual environment under the user's cache directory
 * (`${XDG_CACHE_HOME:-~/.cache}/streaming-etl/moto-<version>`), shared by every checkout on the
 * machine; about 30 s the first time, then a start takes well under a second. What moto does not do
 * like AWS is written in DESIGN.md ("Local services"): its S3 answers 500, not 404 NoSuchUpload,
 * for an aborted upload; its Kinesis lost records under concurrent puts and is never used.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sleep } from '../common/retry.js';
import { LocalServiceError } from './errors.js';
import { cacheRoot, freePort } from './java.js';

/** The pinned moto version. */
export const MOTO_VERSION = '5.2.5';

/** Where moto's virtual environment lives. */
export function motoHome(): string {
  return join(cacheRoot(), `moto-${MOTO_VERSION}`);
}

/**
 * Installs moto's server into the cache if it is not there yet; prints progress. The venv is built
 * in place and counts as installed only once its `.complete` marker is written; a lock directory
 * keeps two processes (parallel test files) from building it at once.
 */
export async function ensureMoto(progress: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<string> {
  const home = motoHome();
  const server = join(home, 'bin', 'moto_server');
  const marker = join(home, '.complete');
  if (existsSync(marker)) return server;
  const lock = `${home}.lock`;
  await mkdir(cacheRoot(), { recursive: true });
  const lockDeadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      if (existsSync(marker)) return server;
      if (Date.now() > lockDeadline) throw new LocalServiceError(`timed out waiting for another process to install moto (remove ${lock} if none is running)`);
      await sleep(500);
    }
  }
  try {
    if (existsSync(marker)) return server;
    const python = process.env.PYTHON ?? 'python3';
    await rm(home, { recursive: true, force: true });
    progress(`local services: installing moto ${MOTO_VERSION} (the local DynamoDB) into ${home}, once (about 30 s)`);
    const started = Date.now();
    const run = (cmd: string, args: string[]): void => {
      const out = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
      if (out.error) throw new LocalServiceError(`could not run ${cmd}: ${out.error.message} (Python 3 with venv is needed for the local DynamoDB)`, { cause: out.error });
      if (out.status !== 0) throw new LocalServiceError(`${cmd} ${args.join(' ')} failed (exit ${out.status}): ${out.stderr.slice(-2000)}`);
    };
    run(python, ['-m', 'venv', home]);
    run(join(home, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `moto[server]==${MOTO_VERSION}`]);
    await writeFile(marker, `${MOTO_VERSION}\n`);
    progress(`local services: moto installed in ${Math.round((Date.now() - started) / 1000)} s`);
    return server;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/**
 * moto's server with one request at a time. `moto_server` serves requests on parallel threads, and
 * moto's DynamoDB evaluates a condition and applies the write without a lock, so two concurrent
 * conditional updates of one item can both succeed (seen: two workers taking the same free lease,
 * both at counter 1). DynamoDB itself is linearizable per item, so the local one must be too: the
 * same app as `moto_server`, threaded (keep-alive connections do not block each other), with every
 * DynamoDB request behind one lock held for the whole request and response (S3 and the rest run
 * in parallel as before).
 */
const SERIALISED_SERVER = `
import sys, threading
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()
def serialised(environ, start_response):
    if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
        return app(environ, start_response)
    with lock:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close:
                close()
run_simple(sys.argv[1], int(sys.argv[2]), serialised, threaded=True, use_reloader=False, request_handler=MotoRequestHandler)
`;

/** A running moto server. */
export interface MotoServer {
  readonly endpoint: string;
  readonly port: number;
  /** Stops it (SIGTERM, then SIGKILL after 3 s). */
  stop(): Promise<void>;
}

/** How a moto server ended on its own (not by {@link MotoServer.stop}). */
export interface MotoExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The end of its stderr. */
  readonly stderr: string;
}

/**
 * Starts moto's server on 127.0.0.1 (`port` 0: a free one) and waits until it answers. `onDied` is
 * called if it exits once up, other than by `stop()`.
 */
export async function startMoto(port = 0, onDied?: (exit: MotoExit) => void): Promise<MotoServer> {
  const server = await ensureMoto();
  const chosen = port || (await freePort());
  const python = join(dirname(server), 'python');
  const child: ChildProcess = spawn(python, ['-c', SERIALISED_SERVER, '127.0.0.1', String(chosen)], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MOTO_PORT: String(chosen) } });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  let up = false;
  let stopping = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      if (up && !stopping) onDied?.({ code, signal, stderr });
      resolve(code);
    }),
  );
  // A moto left behind by a crashed parent would keep the port: end it with this process.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const endpoint = `http://127.0.0.1:${chosen}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new LocalServiceError(`moto server exited (code ${child.exitCode}) before it answered: ${stderr}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new LocalServiceError(`moto server did not answer on ${endpoint} within 30 s: ${stderr}`);
    }
    await sleep(100);
  }
  up = true;
  return {
    endpoint,
    port: chosen,
    async stop() {
      stopping = true;
      process.off('exit', killOnExit);
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
