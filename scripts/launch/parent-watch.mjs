// Started through `npx` / `npm exec` / `npm run`, a command runs under npm (often through `sh -c`),
// and killing npm (SIGTERM, or SIGKILL, which nothing can forward) left it running on its own.
// Under npm, the command therefore watches npm: once npm is gone, it stops as on SIGTERM (the
// processor takes its final checkpoint, etl-local stops its services, etl-replay flushes).
import { readFileSync } from 'node:fs';

/** The parent pid of `pid` from /proc (Linux), or undefined. */
function parentOf(pid) {
  try {
    // The command name (field 2) is in parentheses and may hold spaces: fields after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) && ppid > 1 ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** The name of process `pid` from /proc (Linux), or undefined. */
function nameOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Stops this process (SIGTERM to itself) when it was started by npm and npm (or the shell between) ends. */
export function stopWhenParentEnds() {
  if (!process.env.npm_command) return;
  const parent = process.ppid;
  // npm runs a bin through `sh -c`: watch the shell's parent (npm) too, as the shell outlives a killed npm.
  const watched = [parent];
  if (/^(sh|bash|dash|zsh)$/.test(nameOf(parent) ?? '')) {
    const npm = parentOf(parent);
    if (npm !== undefined) watched.push(npm);
  }
  const timer = setInterval(() => {
    if (process.ppid === parent && watched.every(alive)) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }, 250);
  timer.unref();
}
