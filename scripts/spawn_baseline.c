/* The benchmark's baseline: the least work a parallel runner can do per job, to show what this
 * machine can do. Reads items from stdin, one per line, and runs `COMMAND ARGS... ITEM` for each
 * with posix_spawn, keeping J jobs running at once and reaping them with waitpid. No output
 * capture, no shell, no bookkeeping: COMMAND is resolved on PATH once, before the first spawn.
 *
 *   usage: seq 5000 | spawn_baseline [-j J | -jJ] COMMAND [ARGS...]
 *
 * Built by scripts/bench (cc -O2); not part of poolrun. Exits 0 when every job exited 0, else 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char *resolve(const char *cmd) {
  if (strchr(cmd, '/')) return strdup(cmd);
  const char *path = getenv("PATH");
  if (!path) path = "/usr/bin:/bin";
  for (const char *p = path;;) {
    const char *colon = strchr(p, ':');
    size_t len = colon ? (size_t)(colon - p) : strlen(p);
    char *full = malloc(len + strlen(cmd) + 2);
    if (!full) return NULL;
    snprintf(full, len + strlen(cmd) + 2, "%.*s/%s", (int)len, len ? p : ".", cmd);
    if (access(full, X_OK) == 0) return full;
    free(full);
    if (!colon) return NULL;
    p = colon + 1;
  }
}

int main(int argc, char **argv) {
  int jobs = 2, first = 1;
  if (argc > 2 && strcmp(argv[1], "-j") == 0) {
    jobs = atoi(argv[2]);
    first = 3;
  } else if (argc > 1 && strncmp(argv[1], "-j", 2) == 0) {
    jobs = atoi(argv[1] + 2);
    first = 2;
  }
  if (first >= argc || jobs < 1) {
    fprintf(stderr, "usage: spawn_baseline [-j J] COMMAND [ARGS...] < items\n");
    return 2;
  }
  int nargs = argc - first;
  char *exe = resolve(argv[first]);
  if (!exe) {
    fprintf(stderr, "spawn_baseline: %s: not found on PATH\n", argv[first]);
    return 2;
  }
  char **child_argv = calloc((size_t)nargs + 2, sizeof *child_argv);
  for (int i = 0; i < nargs; i++) child_argv[i] = argv[first + i];

  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int running = 0, failed = 0;
  for (;;) {
    if (running == jobs || (n = getline(&line, &cap, stdin)) < 0) {
      if (running == 0) break;
      int status;
      pid_t pid = waitpid(-1, &status, 0);
      if (pid < 0) {
        if (errno == EINTR) continue;
        perror("spawn_baseline: waitpid");
        return 2;
      }
      running--;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
      continue;
    }
    if (n > 0 && line[n - 1] == '\n') line[n - 1] = '\0';
    child_argv[nargs] = line;
    pid_t pid;
    int err = posix_spawn(&pid, exe, NULL, NULL, child_argv, environ);
    if (err) {
      fprintf(stderr, "spawn_baseline: posix_spawn %s: %s\n", exe, strerror(err));
      failed++;
      continue;
    }
    running++;
  }
  free(line);
  free(child_argv);
  free(exe);
  return failed ? 1 : 0;
}
