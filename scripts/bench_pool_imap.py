#!/usr/bin/env python3
"""The Python side of the --map benchmark (scripts/bench_map.sh): doubles each line of FILE with
multiprocessing's Pool.imap at the given chunksize and worker count, printing results in order,
as `poolrun --map -jJ --chunksize C -a FILE 'awk "{print \\$1*2}"'` does with external workers.

Usage: bench_pool_imap.py FILE WORKERS CHUNKSIZE
"""
import multiprocessing
import sys


def double(line):
    return str(int(line) * 2)


def main():
    path, workers, chunksize = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(path) as f, multiprocessing.Pool(workers) as pool:
        out = sys.stdout
        for result in pool.imap(double, f, chunksize=chunksize):
            out.write(result)
            out.write("\n")


if __name__ == "__main__":
    main()
