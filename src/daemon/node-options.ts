/**
 * The Node options every daemon process runs with. dfdaemon's first line carries them
 * (src/cli/dfdaemon.ts), and whatever starts a daemon as `node <entry>` passes them before the
 * entry: dfget when it starts one, the benches and the tests.
 *
 * `--max-semi-space-size=1`: V8's young generation at 1 MiB a half instead of 16. A daemon moves
 * bytes, not objects: each socket read is a small object holding a Buffer outside the heap, and
 * that Buffer is freed only once the object is collected. With 16 MiB halves the young generation
 * commits about 30 MiB more and collects so rarely that tens of MiB of read Buffers pile up
 * first; at 1 MiB a scavenge frees them a few MiB later, and the allocator hands the same memory,
 * still in cache, to the next reads: a child daemon spent less CPU per GiB, not more
 * (docs/benchmarks.md, data-path). The scheduler and the manager keep V8's default: their objects
 * live longer.
 */
export const DAEMON_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=1']
