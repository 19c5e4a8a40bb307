// Preloaded into a process under test (NODE_OPTIONS="--expose-gc --import <this file>"): a full
// garbage collection every second, so that code whose timers or signals do not survive a
// collection fails every time rather than once in a while.
setInterval(() => globalThis.gc?.(), 1000).unref();
