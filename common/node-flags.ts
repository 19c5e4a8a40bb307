/**
 * The Node options the processor runs with: the container image's CMD (`Dockerfile`), the
 * `etl-processor` launcher's shebang (`scripts/launch/etl-processor.mjs`) and the benches' worker
 * processes (`bench/worker.ts`) all pass them; `test/unit/node-flags.test.ts` checks that they do.
 *
 * `--initial-old-space-size=256`: with the native Parquet path no JavaScript object is made per
 * event, so the heap stays at about 15 MB, but every GetRecords response arrives in 64 KB socket
 * chunks whose ArrayBuffers count toward the old generation's limit. With a limit sized to a
 * 15 MB heap, V8 ran a full mark-compact every 8 MB or so of responses (`--trace-gc`: 35 in a
 * 400,000-event round, "GC in old space requested"); with 256 MB, 4. Measured with
 * `npx tsx bench/pipeline.ts --events 400000 --checkpoint-interval 60000 --repeat 3`, without and
 * with the option, one after the other (load 1.1–1.5): CPU 1.63–2.17 / 3.66–4.08 s against
 * 1.52–1.65 / 2.83–3.12 s for 100,000 / 400,000 events; steady state 176k against 216k events per
 * CPU-second, whole process 105k against 133k; peak RSS 220–236 MiB against 266–276 MiB. It is an
 * initial size: the heap's limit and V8's own growth policy are unchanged. NODE_OPTIONS does not
 * accept it, so it is passed on the command line.
 */
export const PROCESSOR_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=256'];
