/**
 * What the Java-based local services (the Kafka broker in `kafka.ts`, the OpenSearch node in
 * `opensearch.ts`) share: finding a suitable Java and Maven, resolving files from Maven Central
 * into a cache that survives between runs and clones, free loopback ports, and one server process
 * with graceful stop, kill, pause and resume, whose log is kept in a file for error messages.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, closeSync, existsSync, openSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { Logger } from '../common/log.js';
import { DownloadError, LocalServiceError, MissingToolError, ServiceStartError } from './errors.js';

/** The loopback address the Java services listen on (the same as the embedded services'). */
export const JAVA_SERVICES_HOST = '127.0.0.1';

/**
 * The cache root: `${XDG_CACHE_HOME:-$HOME/.cache}/streaming-etl`. It is outside the repository, so
 * it survives `git clean`, fresh clones and worktrees on the same machine.
 */
export function cacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg && xdg.startsWith('/') ? xdg : join(process.env.HOME || homedir(), '.cache');
  return join(base, 'streaming-etl');
}

/** A Java runtime found on this machine. */
export interface JavaRuntime {
  /** Its home directory (what `JAVA_HOME` names). */
  readonly home: string;
  /** Path of its `java` executable. */
  readonly java: string;
  /** Its feature version (17 for 17.0.15). */
  readonly major: number;
}

/** Which Java a service accepts. */
export interface JavaRequirement {
  /** The lowest feature version that works. */
  readonly min: number;
  /** The highest feature version known to work. */
  readonly max: number;
  /** What it is for, for the error message ("Kafka 3.9.2"). */
  readonly purpose: string;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Reads the feature version of a Java home from its `release` file, or by asking its `java`. */
function javaMajor(home: string): number | undefined {
  const java = join(home, 'bin', 'java');
  if (!existsSync(java)) return undefined;
  try {
    const release = readFileSync(join(home, 'release'), 'utf8');
    const match = /^JAVA_VERSION="(\d+)(?:\.(\d+))?/m.exec(release);
    if (match) return match[1] === '1' ? Number(match[2]) : Number(match[1]);
  } catch {
    // no release file: ask the runtime
  }
  const probe = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 30_000 });
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${probe.stderr ?? ''}`);
  if (!match) return undefined;
  return match[1] === '1' ? Number(match[2]) : Number(match[1]);
}

/**
 * Finds a Java whose feature version is within `requirement`. Looks at `JAVA_HOME`, then the `java`
 * on `PATH`, then every JDK under `/usr/lib/jvm` (newest acceptable last, so the lowest acceptable
 * version wins there). Throws MissingToolError naming what it saw.
 */
export function findJava(requirement: JavaRequirement): JavaRuntime {
  const homes: string[] = [];
  if (process.env.JAVA_HOME) homes.push(process.env.JAVA_HOME);
  const java = onPath('java');
  if (java) homes.push(dirname(dirname(realpathSync(java))));
  for (const root of ['/usr/lib/jvm', '/usr/local/lib/jvm', '/opt/java']) {
    try {
      for (const entry of readdirSync(root).sort()) homes.push(join(root, entry));
    } catch {
      // no such directory
    }
  }
  const seen: string[] = [];
  for (const home of [...new Set(homes)]) {
    const major = javaMajor(home);
    if (major === undefined) continue;
    seen.push(`${home} (Java ${major})`);
    if (major >= requirement.min && major <= requirement.max) return { home, java: join(home, 'bin', 'java'), major };
  }
  throw new MissingToolError(
    'java',
    `${requirement.purpose} needs Java ${requirement.min}–${requirement.max}; ` +
      (seen.length ? `found only ${seen.join(', ')}` : 'found none (looked at JAVA_HOME, PATH and /usr/lib/jvm)') +
      '. Install a JDK, e.g. "apt-get install openjdk-17-jdk-headless", or set JAVA_HOME.',
  );
}

/** Finds `mvn` on PATH (or under `MAVEN_HOME`). Throws MissingToolError. */
export function findMaven(): string {
  const fromHome = process.env.MAVEN_HOME ? join(process.env.MAVEN_HOME, 'bin', 'mvn') : undefined;
  if (fromHome && existsSync(fromHome)) return fromHome;
  const mvn = onPath('mvn');
  if (mvn) return mvn;
  throw new MissingToolError('mvn', 'Apache Maven (mvn) is needed to resolve the Kafka and OpenSearch files from Maven Central, and it is not on PATH. Install it, e.g. "apt-get install maven".');
}

/** Finds a program on PATH or throws MissingToolError with an install hint. */
export function findProgram(name: string, hint: string): string {
  const path = onPath(name);
  if (!path) throw new MissingToolError(name, `"${name}" is needed and is not on PATH. ${hint}`);
  return path;
}

/** The maven-dependency-plugin release the downloads use (pinned, so every machine runs the same code). */
export const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

const UNITS: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9 };

/**
 * Runs Maven (`mvn` with `args` in `cwd`), logging progress at most every two seconds: the
 * artifacts and bytes downloaded so far and the transfer in flight. Throws DownloadError with the
 * end of Maven's output if it fails.
 */
export async function runMaven(args: readonly string[], options: { cwd: string; java: JavaRuntime; log: Logger; what: string }): Promise<{ artifacts: number; bytes: number }> {
  const mvn = findMaven();
  const started = Date.now();
  let artifacts = 0;
  let bytes = 0;
  let current = '';
  let lastReport = 0;
  const tail: string[] = [];
  const report = (force: boolean): void => {
    const now = Date.now();
    if (!force && now - lastReport < 2000) return;
    lastReport = now;
    options.log.info(`downloading ${options.what}`, { artifacts, downloadedMB: Math.round(bytes / 1e5) / 10, inFlight: current || undefined, elapsedS: Math.round((now - started) / 1000) });
  };
  const child = spawn(mvn, ['-Dstyle.color=never', ...args], {
    cwd: options.cwd,
    env: { ...process.env, JAVA_HOME: options.java.home, MAVEN_OPTS: process.env.MAVEN_OPTS ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let pending = '';
  const onData = (chunk: Buffer): void => {
    pending += chunk.toString('utf8');
    const pieces = pending.split(/[\r\n]/);
    pending = pieces.pop() ?? '';
    for (const raw of pieces) {
      const line = raw.trim();
      if (!line) continue;
      const progress = /^Progress \(\d+\): (.*)$/.exec(line);
      if (progress) {
        current = progress[1] ?? '';
        report(false);
        continue;
      }
      tail.push(line);
      if (tail.length > 40) tail.shift();
      const done = /^Downloaded from \S+: (\S+) \(([\d.]+) (B|kB|KB|MB|GB) at/.exec(line);
      if (done) {
        artifacts += 1;
        bytes += Number(done[2]) * (UNITS[done[3] ?? 'B'] ?? 1);
        current = '';
        report(false);
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const heartbeat = setInterval(() => report(true), 5000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c) => resolve(c));
    });
    if (code !== 0) throw new DownloadError(`mvn failed (exit ${code}) resolving ${options.what}`, tail.join('\n'));
  } catch (error) {
    if (error instanceof DownloadError) throw error;
    throw new DownloadError(`could not run mvn to resolve ${options.what}`, tail.join('\n'), { cause: error });
  } finally {
    clearInterval(heartbeat);
  }
  report(true);
  return { artifacts, bytes };
}

/** What `ensureCached` leaves in a finished cache entry, `cache.json`. */
export interface CacheManifest {
  /** The entry's name (`kafka-3.9.2`). */
  readonly name: string;
  /** When it was completed. */
  readonly completedAt: string;
  /** Files and bytes in it. */
  readonly files: number;
  readonly bytes: number;
  /** How long filling it took, in ms. */
  readonly fillMs: number;
}

async function sizeOf(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    files += 1;
    bytes += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return { files, bytes };
}

/**
 * Returns the cache entry `<cacheRoot>/<name>`, filling it first if it is not complete. `fill` writes
 * into a fresh temporary directory beside it, which is renamed into place only when `fill` has
 * succeeded: an interrupted download is never taken as complete, and two processes filling at once
 * both end up with one complete entry. Leftovers of interrupted fills older than an hour are removed.
 */
export async function ensureCached(name: string, fill: (dir: string) => Promise<void>, log: Logger): Promise<{ dir: string; manifest: CacheManifest; filled: boolean }> {
  const root = cacheRoot();
  const dir = join(root, name);
  const manifestPath = join(dir, 'cache.json');
  const existing = await readManifest(manifestPath);
  if (existing) return { dir, manifest: existing, filled: false };
  await mkdir(root, { recursive: true });
  for (const entry of await readdir(root)) {
    if (!entry.startsWith(`.${name}.tmp-`)) continue;
    const path = join(root, entry);
    const age = Date.now() - (await stat(path)).mtimeMs;
    if (age > 3600_000) await rm(path, { recursive: true, force: true });
  }
  const started = Date.now();
  const temporary = await mkdtemp(join(root, `.${name}.tmp-`));
  try {
    log.info(`filling the cache: ${name}`, { dir });
    await fill(temporary);
    const { files, bytes } = await sizeOf(temporary);
    const manifest: CacheManifest = { name, completedAt: new Date().toISOString(), files, bytes, fillMs: Date.now() - started };
    await writeFile(join(temporary, 'cache.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    try {
      await rm(dir, { recursive: true, force: true }); // an entry without cache.json is incomplete: replace it
      await rename(temporary, dir);
    } catch (error) {
      const other = await readManifest(manifestPath);
      if (!other) throw new LocalServiceError(`could not move ${temporary} to ${dir}`, { cause: error });
      log.info(`another process filled ${name} first; using it`);
      await rm(temporary, { recursive: true, force: true });
      return { dir, manifest: other, filled: false };
    }
    log.info(`cached ${name}`, { dir, files, sizeMB: Math.round(bytes / 1e5) / 10, seconds: Math.round(manifest.fillMs / 100) / 10 });
    return { dir, manifest, filled: true };
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
}

async function readManifest(path: string): Promise<CacheManifest | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as CacheManifest;
  } catch {
    return undefined;
  }
}

/** A free TCP port on the loopback address (free now; the caller binds it right away). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, JAVA_SERVICES_HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The last `lines` lines of a text file ('' if it cannot be read). */
export function tailFile(path: string, lines = 40): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text.split('\n').filter((l) => l.length > 0).slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Resident memory of a process in bytes, from /proc (undefined where there is no /proc). */
export function residentBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The unprivileged user a service runs as when this process is root. */
export const UNPRIVILEGED = { uid: 65534, gid: 65534, name: 'nobody' } as const;

/** Whether this process runs as root (so a service that refuses root needs another user). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** How a server process is started. */
export interface ServerCommand {
  /** The program and its arguments. */
  readonly command: string;
  readonly args: readonly string[];
  /** Its whole environment. */
  readonly env: Readonly<Record<string, string>>;
  /** Its working directory. */
  readonly cwd: string;
  /** The file its stdout and stderr are appended to. */
  readonly logFile: string;
  /** Run it as the unprivileged user (needs root). */
  readonly unprivileged?: boolean;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * One server process (a JVM). Started through `setpriv` where available, so it gets SIGKILL if this
 * process dies (`--pdeathsig`) and, when asked, runs as the unprivileged user; stdout and stderr go
 * to a log file. `halt` stops it (SIGTERM, then SIGKILL), `kill` kills it, `pause`/`resume`
 * freeze it; `start` starts it again with the same command.
 */
export class ServerProcess {
  readonly #name: string;
  readonly #command: ServerCommand;
  readonly #log: Logger;
  #child: ChildProcess | undefined;
  #exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;

  constructor(name: string, command: ServerCommand, log: Logger) {
    this.#name = name;
    this.#command = command;
    this.#log = log;
  }

  /** The process id while it runs. */
  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  /** Whether it is running (or paused). */
  get running(): boolean {
    return this.pid !== undefined;
  }

  /** The file its output goes to. */
  get logFile(): string {
    return this.#command.logFile;
  }

  /** The end of its log, for error messages. */
  logTail(lines = 40): string {
    return tailFile(this.#command.logFile, lines);
  }

  /** Resident memory in bytes (undefined when not running). */
  residentBytes(): number | undefined {
    const pid = this.pid;
    return pid === undefined ? undefined : residentBytes(pid);
  }

  /** Starts the process; resolves once it is spawned (not when the server is ready). */
  async start(): Promise<void> {
    if (this.running) throw new LocalServiceError(`${this.#name} is already running`);
    if (this.#command.unprivileged && !isRoot()) throw new LocalServiceError(`${this.#name}: running as another user needs root`);
    const setpriv = onPath('setpriv');
    if (this.#command.unprivileged && !setpriv) throw new MissingToolError('setpriv', `${this.#name} must not run as root and "setpriv" (util-linux) is not on PATH to drop privileges. Install util-linux or run as an ordinary user.`);
    const prefix = setpriv
      ? [setpriv, '--pdeathsig', 'KILL', ...(this.#command.unprivileged ? ['--reuid', String(UNPRIVILEGED.uid), '--regid', String(UNPRIVILEGED.gid), '--clear-groups'] : []), '--']
      : [];
    const argv = [...prefix, this.#command.command, ...this.#command.args];
    const fd = openSync(this.#command.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(argv[0] as string, argv.slice(1), { cwd: this.#command.cwd, env: { ...this.#command.env }, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    this.#exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        resolve({ code, signal });
      });
      child.once('error', (error) => {
        live.delete(child);
        this.#log.error(`${this.#name} could not be spawned`, { error });
        resolve({ code: -1, signal: null });
      });
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (error) => reject(new ServiceStartError(`${this.#name}: could not run ${argv[0]}`, this.logTail(), { cause: error })));
    });
    this.#child = child;
    live.add(child);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      // A test that crashes must not leave a JVM behind (setpriv's pdeathsig covers SIGKILL of this process).
      process.once('exit', () => {
        for (const c of live) c.kill('SIGKILL');
      });
    }
    this.#log.debug(`${this.#name} spawned`, { pid: child.pid, argv: argv.join(' ') });
  }

  /** Resolves when the process exits (at once if it is not running). */
  async exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.#exit ?? { code: null, signal: null };
  }

  /** Stops it: SIGTERM (and SIGCONT, in case it is paused), then SIGKILL after `graceMs`. */
  async halt(graceMs = 30_000): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    child.kill('SIGTERM');
    child.kill('SIGCONT');
    const timer = setTimeout(() => {
      this.#log.warn(`${this.#name} did not stop within ${graceMs} ms; killing it`);
      child.kill('SIGKILL');
    }, graceMs);
    try {
      await this.exited();
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills it at once (SIGKILL), as a crash would, and waits for it to be gone. */
  async kill(): Promise<void> {
    if (!this.#child || !this.running) return;
    this.#child.kill('SIGKILL');
    await this.exited();
  }

  /** Freezes it (SIGSTOP): its ports stay bound but it answers nothing until `resume`. */
  pause(): void {
    if (!this.#child || !this.running) throw new LocalServiceError(`${this.#name} is not running`);
    this.#child.kill('SIGSTOP');
  }

  /** Lets a paused process go on (SIGCONT). */
  resume(): void {
    if (!this.#child || !this.running) throw new LocalServiceError(`${this.#name} is not running`);
    this.#child.kill('SIGCONT');
  }
}
