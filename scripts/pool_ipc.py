#!/usr/bin/env python3
"""Per-item cost of Python's multiprocessing.Pool.map at chunksize 1 for a trivial function.

Prints one line: "<seconds per item> <items> <processes>". The time of a map over N items with one
worker process, minus the same loop run serially, divided by N: what a pool's IPC (pickling, pipe
writes and reads, the task and result handler threads) costs per task. Used by scripts/bench
--only ipc beside poolrun's own figure.
"""
import multiprocessing as mp
import sys
import time


def trivial(x):
    return x


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    method = sys.argv[2] if len(sys.argv) > 2 else "fork"
    ctx = mp.get_context(method)
    best = None
    for _ in range(3):
        with ctx.Pool(1) as pool:
            pool.map(trivial, range(100), chunksize=1)  # the worker is up and warm
            t0 = time.perf_counter()
            out = pool.map(trivial, range(n), chunksize=1)
            t = time.perf_counter() - t0
        assert out[-1] == n - 1
        t0 = time.perf_counter()
        out = list(map(trivial, range(n)))
        serial = time.perf_counter() - t0
        per = (t - serial) / n
        best = per if best is None else min(best, per)
    print(f"{best:.9f} {n} 1")


if __name__ == "__main__":
    main()
