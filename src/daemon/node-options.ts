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
 * (docs/benchmarks.md, data-path).
 *
 * `--initial-old-space-size=64`: V8 collects the old generation once it and the memory Buffers took
 * since the last such collection outgrow a limit that follows the live heap: about 9 MiB above a
 * daemon's 20 MiB. The Buffers of a transfer in flight (reads from the origin, batches being
 * written) swing by more than that between two scavenges, so a daemon fetching from the origin ran
 * 9 to 83 full collections per GiB, at random, and spent up to 1.4 CPU-seconds more per GiB in the
 * bad runs. With the limit at 64 MiB it ran none; a child taking pieces over TLS and its parent
 * spent 7% and 23% less per GiB, a 20mbit testbed cluster a fifth to a quarter less. The price is
 * memory: what outlives a scavenge now waits longer for the full collection, 10 to 18 MiB more at
 * the peak with 1 MiB pieces, little with larger ones (docs/benchmarks.md, data-path and testbed).
 *
 * `--no-allocation-site-pretenuring`: V8 watches where objects are allocated, and once most of a
 * site's objects outlive a scavenge it allocates that site's objects straight into the old
 * generation. A piece's objects (its request, writer, promises, report) live as long as its
 * transfer, a few scavenges at 1 MiB a half, so with 1 MiB pieces some sites tipped over, and from
 * then on every piece's objects went where only a full collection frees them, which the 64 MiB
 * limit above puts off: a child downloading 4 GiB in 1 MiB pieces, 32 at once, peaked at 153 MiB
 * in five of nine runs and at 112 in the others; with this option at 111 to 113 MiB in nine of
 * nine, its CPU per GiB the same within noise (docs/benchmarks.md, data-path).
 *
 * The scheduler and the manager keep V8's defaults: their objects live longer.
 */
export const DAEMON_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=1', '--initial-old-space-size=64', '--no-allocation-site-pretenuring']
