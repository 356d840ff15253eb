/*
 * The spawn ceiling in C: keeps CONCURRENCY children of PROGRAM alive, each started with
 * posix_spawn, fed STDIN_BYTES on stdin (a pipe), stdout/stderr to /dev/null, reaped with
 * waitpid; prints one JSON line. bench/compare compiles it with cc at run time.
 *
 * usage: spawn-loop CONCURRENCY SECONDS STDIN_BYTES PROGRAM
 *
 * Like smtpipe's spawners, each child leads a new session and process group
 * (POSIX_SPAWN_SETSID, as child_process's detached: true; with sched_autogroup it also gets
 * its own scheduling group, which changes how it shares the CPUs with this loop) and gets
 * default signal dispositions and an empty mask. STDIN_BYTES must fit in a pipe
 * buffer (64 KiB): the loop writes it in one go without polling. The JSON also gives the
 * CPU the loop itself and its reaped children used (getrusage), for the cpu scenario.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct slot {
  pid_t pid;
  double started;
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double percentile(const double *sorted, size_t n, double p) {
  if (n == 0) return 0;
  size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
  return sorted[i < n ? i : n - 1];
}

static double cpu_us(const struct rusage *r) {
  return (double)(r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1e6 + (double)(r->ru_utime.tv_usec + r->ru_stime.tv_usec);
}

static int devnull = -1;
static const char *program;
static char *payload;
static size_t payload_bytes;
static posix_spawnattr_t attr;

/* Starts one child; returns its pid, or -1 (errno set). */
static pid_t start_child(void) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
  posix_spawn_file_actions_adddup2(&actions, devnull, 1);
  posix_spawn_file_actions_adddup2(&actions, devnull, 2);
  char *argv[] = {(char *)program, NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, program, &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[0]);
  if (rc != 0) {
    close(fds[1]);
    errno = rc;
    return -1;
  }
  size_t written = 0;
  while (written < payload_bytes) {
    ssize_t n = write(fds[1], payload + written, payload_bytes - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      break; /* EPIPE: the program did not read; its exit decides, as in smtpipe */
    }
    written += (size_t)n;
  }
  close(fds[1]);
  return pid;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s CONCURRENCY SECONDS STDIN_BYTES PROGRAM\n", argv[0]);
    return 64;
  }
  int concurrency = atoi(argv[1]);
  double seconds = atof(argv[2]);
  payload_bytes = (size_t)atol(argv[3]);
  program = argv[4];
  if (concurrency < 1 || seconds <= 0 || payload_bytes > 65536) {
    fprintf(stderr, "spawn-loop: bad arguments (STDIN_BYTES at most 65536)\n");
    return 64;
  }
  signal(SIGPIPE, SIG_IGN);
  devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  payload = malloc(payload_bytes + 1);
  memset(payload, 'x', payload_bytes);
  for (size_t i = 79; i < payload_bytes; i += 80) payload[i] = '\n';

  sigset_t none, piped;
  sigemptyset(&none);
  sigemptyset(&piped);
  sigaddset(&piped, SIGPIPE);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &piped);

  struct slot *slots = calloc((size_t)concurrency, sizeof *slots);
  size_t capacity = 1 << 16, count = 0;
  double *latencies = malloc(capacity * sizeof *latencies);
  double start = now_ms(), deadline = start + seconds * 1e3;
  int running = 0;
  for (int i = 0; i < concurrency; i++) {
    slots[i].started = now_ms();
    slots[i].pid = start_child();
    if (slots[i].pid < 0) {
      perror("posix_spawn");
      return 71;
    }
    running++;
  }
  while (running > 0) {
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      perror("waitpid");
      return 71;
    }
    double t = now_ms();
    for (int i = 0; i < concurrency; i++) {
      if (slots[i].pid != pid) continue;
      if (count == capacity) {
        capacity *= 2;
        latencies = realloc(latencies, capacity * sizeof *latencies);
      }
      latencies[count++] = t - slots[i].started;
      if (t < deadline) {
        slots[i].started = t;
        slots[i].pid = start_child();
        if (slots[i].pid < 0) {
          perror("posix_spawn");
          return 71;
        }
      } else {
        slots[i].pid = 0;
        running--;
      }
      break;
    }
  }
  double elapsed = (now_ms() - start) / 1e3;
  qsort(latencies, count, sizeof *latencies, compare_doubles);
  struct rusage self, children;
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  printf("{\"spawns\":%zu,\"seconds\":%.3f,\"spawnsPerSecond\":%.1f,\"p50Ms\":%.3f,\"p99Ms\":%.3f,\"selfCpuUs\":%.0f,\"childrenCpuUs\":%.0f}\n",
         count, elapsed, (double)count / elapsed, percentile(latencies, count, 50), percentile(latencies, count, 99), cpu_us(&self),
         cpu_us(&children));
  return 0;
}
