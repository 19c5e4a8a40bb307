/**
 * A real OpenSearch node for tests, CI and the local demo: a single node on free loopback ports,
 * with its config, data and logs in a temporary directory.
 *
 * The distribution is the `integ-test-zip` of OpenSearch 2.19.6 from Maven Central (56 MB; no
 * security plugin, so plain HTTP), fetched with `mvn dependency:copy` and unzipped into
 * `<cacheRoot>/opensearch-<version>` (see `java.ts`). 2.19 runs on Java 11–21 (3.x needs 21 and
 * starts much slower). OpenSearch refuses to run as root: when this process is root the node runs
 * as `nobody` through `setpriv`, from a hard-linked copy of the install (the cache under root's
 * home is not readable by other users, and stays untouched) and a temporary directory that user
 * owns.
 *
 * For fault tests the node can be killed, halted, paused and restarted on the same ports and data,
 * and restarted with other settings: `writeQueueSize`/`writeThreads` make it reject writes with
 * 429 under load, as a busy Amazon OpenSearch Service domain does.
 */
import { spawnSync } from 'node:child_process';
import { chown, cp, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '../common/log.js';
import { sleep } from '../common/retry.js';
import { LocalServiceError, ServiceStartError } from './errors.js';
import { DEPENDENCY_PLUGIN, JAVA_SERVICES_HOST, UNPRIVILEGED, ensureCached, findJava, findProgram, freePort, isRoot, runMaven, ServerProcess, type JavaRuntime } from './java.js';

/** The OpenSearch release the local node runs. */
export const OPENSEARCH_VERSION = '2.19.6';
/** The Maven coordinates of its distribution. */
export const OPENSEARCH_ARTIFACT = `org.opensearch.distribution.integ-test-zip:opensearch:${OPENSEARCH_VERSION}:zip`;
/** The Java versions OpenSearch 2.19 supports. */
export const OPENSEARCH_JAVA = { min: 11, max: 21, purpose: `OpenSearch ${OPENSEARCH_VERSION}` } as const;

/** The cached OpenSearch distribution. */
export interface OpenSearchInstall {
  /** The OpenSearch release. */
  readonly version: string;
  /** The unpacked distribution (`OPENSEARCH_HOME`). */
  readonly home: string;
  /** The Java that runs it. */
  readonly java: JavaRuntime;
  /** Whether this call downloaded it (false: it was cached). */
  readonly downloaded: boolean;
}

/**
 * Makes sure the OpenSearch distribution is in the cache, downloading and unpacking it the first
 * time (with progress logs). Throws MissingToolError when Java, Maven or unzip is missing,
 * DownloadError when Maven fails.
 */
export async function ensureOpenSearch(options: { log?: Logger } = {}): Promise<OpenSearchInstall> {
  const log = options.log ?? createLogger('local.opensearch');
  const java = findJava(OPENSEARCH_JAVA);
  const unzip = findProgram('unzip', 'Install it, e.g. "apt-get install unzip".');
  const { dir, filled } = await ensureCached(
    `opensearch-${OPENSEARCH_VERSION}`,
    async (target) => {
      const download = join(target, 'download');
      await mkdir(download);
      await runMaven([`${DEPENDENCY_PLUGIN}:copy`, `-Dartifact=${OPENSEARCH_ARTIFACT}`, `-DoutputDirectory=${download}`], { cwd: download, java, log, what: `OpenSearch ${OPENSEARCH_VERSION}` });
      const zip = (await readdir(download)).find((name) => name.endsWith('.zip'));
      if (!zip) throw new LocalServiceError(`mvn reported success but left no zip in ${download}`);
      log.info('unpacking OpenSearch', { zip });
      const unpack = spawnSync(unzip, ['-q', join(download, zip), '-d', download], { encoding: 'utf8' });
      if (unpack.status !== 0) throw new LocalServiceError(`unzip failed (exit ${unpack.status}): ${unpack.stderr}`);
      await rename(join(download, `opensearch-${OPENSEARCH_VERSION}`), join(target, 'home'));
      await rm(download, { recursive: true, force: true });
    },
    log,
  );
  return { version: OPENSEARCH_VERSION, home: join(dir, 'home'), java, downloaded: filled };
}

/** Settings that change how the node behaves under load (used at start and by `restart`). */
export interface OpenSearchLoadSettings {
  /**
   * Queue size of the `write` thread pool (`thread_pool.write.queue_size`). A tiny queue (1, with
   * `writeThreads` 1) makes the node reject the items of a burst of bulk requests: the response is
   * HTTP 200 with `errors: true` and items of status 429 (es_rejected_execution_exception).
   * @default OpenSearch's (10000)
   */
  readonly writeQueueSize?: number;
  /** Threads of the `write` pool (`thread_pool.write.size`). @default OpenSearch's (the number of cores) */
  readonly writeThreads?: number;
  /**
   * Bytes of indexing requests the node holds at once (`indexing_pressure.memory.limit`, e.g.
   * `"64kb"`). Past it the whole request is refused with HTTP 429, so a burst of bulk requests
   * bigger together than the limit gets 429 answers while a single one passes.
   * @default OpenSearch's (10% of the heap)
   */
  readonly indexingPressureLimit?: string;
  /** Any other `opensearch.yml` settings. */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
}

/** How the local node is started. */
export interface LocalOpenSearchOptions extends OpenSearchLoadSettings {
  /** Heap of the node JVM, in MiB (`OPENSEARCH_JAVA_OPTS=-Xms…m -Xmx…m`). @default 512 */
  readonly heapMb?: number;
  /** How long to wait for green, in ms. @default 180000 */
  readonly readyTimeoutMs?: number;
  /** Where progress and lifecycle logs go. @default a logger for `local.opensearch` */
  readonly log?: Logger;
}

/** A running local OpenSearch node. */
export interface LocalOpenSearch {
  /** Its HTTP endpoint, `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** The HTTP and transport ports (kept across restarts). */
  readonly httpPort: number;
  readonly transportPort: number;
  /** The cached distribution it runs from. */
  readonly install: OpenSearchInstall;
  /** The node's console log (stdout and stderr of the JVM). */
  readonly logFile: string;
  /** Its process id while it runs. */
  readonly pid: number | undefined;
  /** Freezes the node (SIGSTOP): requests hang until `resume`. */
  pause(): void;
  /** Lets a paused node go on. */
  resume(): void;
  /** Kills the node (SIGKILL), keeping its data and ports for `restart`. */
  kill(): Promise<void>;
  /** Stops the node gracefully (SIGTERM), keeping its data and ports for `restart`. */
  halt(): Promise<void>;
  /**
   * Starts the node again on the same ports and data (halting it first if it runs), optionally with
   * other load settings (they replace the previous ones), and waits for green.
   */
  restart(settings?: OpenSearchLoadSettings): Promise<void>;
  /** Resident memory of the node JVM, in bytes. */
  residentBytes(): number | undefined;
  /** Stops the node (SIGTERM, then SIGKILL after 30 s) and removes its directory. */
  stop(): Promise<void>;
}

function yaml(settings: Record<string, string | number | boolean>): string {
  return `${Object.entries(settings)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`)
    .join('\n')}\n`;
}

/** Runs a command, throwing LocalServiceError if it fails. */
function must(command: string, args: readonly string[], what: string): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new LocalServiceError(`${what} failed (exit ${result.status}): ${result.stderr || result.error?.message || ''}`);
}

/**
 * Starts an OpenSearch node (downloading the distribution first if it is not cached) and waits
 * until the cluster is green. Throws MissingToolError (no Java, Maven, unzip or setpriv),
 * DownloadError, or ServiceStartError with the end of the node's log.
 */
export async function startOpenSearch(options: LocalOpenSearchOptions = {}): Promise<LocalOpenSearch> {
  const log = options.log ?? createLogger('local.opensearch');
  const install = await ensureOpenSearch({ log });
  const heapMb = options.heapMb ?? 512;
  const readyTimeoutMs = options.readyTimeoutMs ?? 180_000;
  const unprivileged = isRoot();
  const work = await mkdtemp(join(tmpdir(), 'etl-opensearch-'));
  const dirs = { config: join(work, 'config'), data: join(work, 'data'), logs: join(work, 'logs'), tmp: join(work, 'tmp') };
  const logFile = join(work, 'node.log');
  let node: ServerProcess | undefined;
  try {
    // The install: used in place, or (as root, for `nobody`) as a hard-linked copy (a real copy across file systems).
    let home = install.home;
    if (unprivileged) {
      home = join(work, 'home');
      const linked = spawnSync('cp', ['-al', install.home, home]);
      if (linked.status !== 0) {
        await rm(home, { recursive: true, force: true });
        must('cp', ['-a', install.home, home], 'copying the OpenSearch install');
      }
    }
    await cp(join(install.home, 'config'), dirs.config, { recursive: true });
    for (const dir of [dirs.data, dirs.logs, dirs.tmp]) await mkdir(dir);
    // Paths in jvm.options are relative to the working directory; make them point into `work`.
    const jvmOptions = await readFile(join(dirs.config, 'jvm.options'), 'utf8');
    await writeFile(
      join(dirs.config, 'jvm.options'),
      jvmOptions
        .replaceAll('file=logs/gc.log', `file=${dirs.logs}/gc.log`)
        .replaceAll('-Xloggc:logs/gc.log', `-Xloggc:${dirs.logs}/gc.log`)
        .replaceAll('HeapDumpPath=data', `HeapDumpPath=${dirs.data}`)
        .replaceAll('ErrorFile=logs/', `ErrorFile=${dirs.logs}/`),
    );
    const httpPort = await freePort();
    let transportPort = await freePort();
    while (transportPort === httpPort) transportPort = await freePort();
    const endpoint = `http://${JAVA_SERVICES_HOST}:${httpPort}`;
    const writeConfig = async (load: OpenSearchLoadSettings): Promise<void> => {
      const settings: Record<string, string | number | boolean> = {
        'cluster.name': 'etl-local',
        'node.name': 'etl-local-1',
        'discovery.type': 'single-node',
        'network.host': JAVA_SERVICES_HOST,
        'http.port': httpPort,
        'transport.port': transportPort,
        'path.data': dirs.data,
        'path.logs': dirs.logs,
        // A nearly full disk must not turn the test indices read-only.
        'cluster.routing.allocation.disk.threshold_enabled': false,
        ...(load.writeQueueSize !== undefined ? { 'thread_pool.write.queue_size': load.writeQueueSize } : {}),
        ...(load.writeThreads !== undefined ? { 'thread_pool.write.size': load.writeThreads } : {}),
        ...(load.indexingPressureLimit !== undefined ? { 'indexing_pressure.memory.limit': load.indexingPressureLimit } : {}),
        ...(load.settings ?? {}),
      };
      await writeFile(join(dirs.config, 'opensearch.yml'), yaml(settings));
    };
    await writeConfig(options);
    if (unprivileged) {
      for (const path of [work, dirs.config, dirs.data, dirs.logs, dirs.tmp]) await chown(path, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
      must('chown', ['-R', `${UNPRIVILEGED.uid}:${UNPRIVILEGED.gid}`, dirs.config], 'handing the config to nobody');
    }
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: work,
      LANG: 'C.UTF-8',
      JAVA_HOME: install.java.home,
      OPENSEARCH_JAVA_OPTS: `-Xms${heapMb}m -Xmx${heapMb}m`,
      OPENSEARCH_PATH_CONF: dirs.config,
      OPENSEARCH_TMPDIR: dirs.tmp,
    };
    // bin/opensearch looks for bin/opensearch-keystore relative to the working directory: run it in its home.
    node = new ServerProcess('opensearch node', { command: 'bash', args: [join(home, 'bin', 'opensearch')], env, cwd: home, logFile, unprivileged }, log);
    const started = Date.now();
    log.info('starting the OpenSearch node', { version: OPENSEARCH_VERSION, endpoint, work, java: install.java.major, user: unprivileged ? UNPRIVILEGED.name : 'self' });
    await node.start();
    await waitForGreen(node, endpoint, readyTimeoutMs);
    await noReplicasByDefault(endpoint);
    log.info('OpenSearch node green', { endpoint, seconds: (Date.now() - started) / 1000, pid: node.pid });

    const server = node;
    let stopped = false;
    return {
      endpoint,
      httpPort,
      transportPort,
      install,
      logFile,
      get pid() {
        return server.pid;
      },
      pause: () => server.pause(),
      resume: () => server.resume(),
      kill: () => server.kill(),
      halt: () => server.halt(),
      async restart(settings) {
        if (stopped) throw new LocalServiceError('the OpenSearch node was stopped for good; start a new one');
        await server.halt();
        if (settings) {
          await writeConfig(settings);
          if (unprivileged) await chown(join(dirs.config, 'opensearch.yml'), UNPRIVILEGED.uid, UNPRIVILEGED.gid);
        }
        const again = Date.now();
        await server.start();
        await waitForGreen(server, endpoint, readyTimeoutMs);
        log.info('OpenSearch node green again', { endpoint, seconds: (Date.now() - again) / 1000, pid: server.pid });
      },
      residentBytes: () => server.residentBytes(),
      async stop() {
        stopped = true;
        await server.halt();
        await rm(work, { recursive: true, force: true });
        log.info('OpenSearch node stopped', { endpoint });
      },
    };
  } catch (error) {
    await node?.kill();
    await rm(work, { recursive: true, force: true });
    if (error instanceof LocalServiceError) throw error;
    throw new LocalServiceError('could not start the OpenSearch node', { cause: error });
  }
}

/**
 * One node has nowhere to put a replica: new indices get none (unless they ask), so the cluster
 * stays green. It is a persistent cluster setting (kept in the data across restarts); in
 * opensearch.yml it would be listed but not applied to new indices (seen with 2.19.6).
 */
async function noReplicasByDefault(endpoint: string): Promise<void> {
  const response = await fetch(`${endpoint}/_cluster/settings`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ persistent: { 'cluster.default_number_of_replicas': 0 } }),
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.ok) throw new LocalServiceError(`could not set cluster.default_number_of_replicas: HTTP ${response.status} ${await response.text()}`);
}

/**
 * Polls `/_cluster/health?wait_for_status=green` until the node answers green (the indices a
 * restarted node recovers included); fails at once if the JVM exits.
 */
async function waitForGreen(node: ServerProcess, endpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (!node.running) {
      const { code, signal } = await node.exited();
      throw new ServiceStartError(`the OpenSearch node exited while starting (code ${code}, signal ${signal})`, node.logTail());
    }
    try {
      const response = await fetch(`${endpoint}/_cluster/health?wait_for_status=green&timeout=2s`, { signal: AbortSignal.timeout(5000) });
      const body = (await response.json()) as { status?: string };
      if (response.status === 200 && body.status === 'green') return;
      last = `HTTP ${response.status}: ${JSON.stringify(body)}`;
    } catch (error) {
      last = error;
    }
    await sleep(250);
  }
  throw new ServiceStartError(`the OpenSearch node at ${endpoint} was not green within ${timeoutMs} ms`, node.logTail(), { cause: last });
}
