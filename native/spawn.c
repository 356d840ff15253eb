/*
 * smtpipe's spawner without fork(): posix_spawn (glibc clones with CLONE_VM|CLONE_VFORK, so
 * the cost does not grow with the memory the daemon holds, unlike child_process's fork) and
 * the exit watched through a pidfd in the calling thread's libuv loop. Its only caller is
 * workers/spawners/native.ts. It decides one piece of policy, on purpose: when a program
 * exits, the rest of its process group gets SIGKILL *before* the program is reaped, while
 * the zombie still pins the group id, so the signal can never reach a recycled group.
 *
 * Every piece of state is per environment (napi_set_instance_data): several worker threads
 * load this addon at once, each with its own loop, children and cleanup hook. Never
 * waitpid(-1): libuv reaps child_process's children by pid, and both spawners coexist.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

/* glibc < 2.36 has neither a pidfd_open() wrapper nor P_PIDFD (Linux 5.3 / 5.4). */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434 /* the generic syscall table's number, also x86_64's */
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

typedef struct instance instance_t;

/* One program, from posix_spawn until its poll handle has finished closing. */
typedef struct child {
  uv_poll_t poll; /* poll.data points back here */
  instance_t *inst;
  pid_t pid;
  int pidfd;
  int reaped;
  napi_ref on_exit; /* NULL once called, or once the environment is torn down */
  struct child *prev, *next;
} child_t;

struct instance {
  napi_env env;
  uv_loop_t *loop;
  child_t *children; /* every child whose handle is open or closing */
  int tearing_down;
  napi_async_cleanup_hook_handle cleanup;
};

typedef struct {
  pid_t pid;
  int stdin_fd; /* our end: close-on-exec, non-blocking */
  int pidfd;
} started_t;

/* waitid on a pidfd that uv_poll_init made O_NONBLOCK: since Linux 5.10 that makes a
 * blocking waitid fail with EAGAIN while the process lives, so wait for readability. */
static int wait_pidfd(int pidfd, siginfo_t *info, int flags) {
  for (;;) {
    memset(info, 0, sizeof *info);
    if (waitid(P_PIDFD, (id_t)pidfd, info, flags) == 0) return 0;
    if (errno == EINTR) continue;
    if (errno != EAGAIN || (flags & WNOHANG)) return errno;
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    if (poll(&p, 1, -1) < 0 && errno != EINTR) return errno;
  }
}

/* The group kill, then the reap. The program must have exited or been SIGKILLed. */
static int kill_group_and_reap(pid_t pid, int pidfd, siginfo_t *info) {
  int err = wait_pidfd(pidfd, info, WEXITED | WNOWAIT);
  if (err != 0) return err;
  /* ESRCH (nothing left) and EPERM (a member changed uid) are no reason not to reap. */
  kill(-pid, SIGKILL);
  return wait_pidfd(pidfd, info, WEXITED);
}

/* For a child we cannot watch: make sure it ends, and reap it by pid (it is ours). */
static void abandon(pid_t pid) {
  kill(-pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
}

/* Node marks fds 0-2 close-on-exec and dup2(fd, fd) would leave that flag set (and a
 * source of 0-2 could be overwritten by an earlier dup2): move such a source above 2. */
static int lift(int fd, int *lifted) {
  if (fd < 0 || fd > 2) return fd;
  *lifted = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  return *lifted;
}

#define TRY(call)              \
  do {                         \
    if ((err = (call)) != 0) { \
      goto done;               \
    }                          \
  } while (0)

/* Returns 0 or an errno. out_fd/err_fd < 0 mean /dev/null. */
static int start_child(const char *file, char *const argv[], char *const envp[], int out_fd,
                       int err_fd, started_t *out) {
  int pipe_fds[2], lifted[3] = {-1, -1, -1}, err = 0;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  sigset_t all, none;
  pid_t pid = -1;

  /* Close-on-exec from birth: a spawn in another thread must not inherit this pipe. */
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return errno;
  int sources[3] = {pipe_fds[0], out_fd, err_fd};
  if ((err = posix_spawnattr_init(&attr)) != 0) goto close_pipe;
  if ((err = posix_spawn_file_actions_init(&actions)) != 0) {
    posix_spawnattr_destroy(&attr);
    goto close_pipe;
  }
  /* SETSID, as child_process's detached: true: the program leads a new session and process
   * group (so killing -pid reaches its descendants) without our controlling terminal.
   * SETSIGDEF: Node ignores SIGPIPE and SIGXFSZ, and an ignored disposition survives exec.
   * Filled by hand: glibc's sigfillset leaves out its two internal signals (32, 33), which
   * its posix_spawn then sets to SIG_IGN in the child, and SIG_IGN survives exec.
   * SETSIGMASK: the calling thread's mask would be inherited too. */
  memset(&all, 0xff, sizeof all);
  sigemptyset(&none);
  TRY(posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF |
                                          POSIX_SPAWN_SETSIGMASK));
  TRY(posix_spawnattr_setsigdefault(&attr, &all));
  TRY(posix_spawnattr_setsigmask(&attr, &none));
  for (int target = 0; target < 3; target++) {
    if (sources[target] < 0) {
      TRY(posix_spawn_file_actions_addopen(&actions, target, "/dev/null",
                                           target == 0 ? O_RDONLY : O_WRONLY, 0));
      continue;
    }
    if (lift(sources[target], &lifted[target]) < 0) {
      err = errno;
      goto done;
    }
    if (lifted[target] >= 0) sources[target] = lifted[target];
    TRY(posix_spawn_file_actions_adddup2(&actions, sources[target], target));
  }
  /* Every other fd is close-on-exec (Node opens all with O_CLOEXEC; the daemon closes
   * inherited ones at start-up, src/ops/inherited-fds.ts), as with child_process. */
  TRY(posix_spawn(&pid, file, &actions, &attr, argv, envp));

done:
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  for (int i = 0; i < 3; i++)
    if (lifted[i] >= 0) close(lifted[i]);
close_pipe:
  close(pipe_fds[0]);
  if (err != 0) {
    close(pipe_fds[1]);
    return err;
  }
  /* libuv streams expect a non-blocking fd. A pidfd is always close-on-exec. */
  int flags = fcntl(pipe_fds[1], F_GETFL), pidfd = -1;
  if (flags >= 0 && fcntl(pipe_fds[1], F_SETFL, flags | O_NONBLOCK) == 0)
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) {
    err = errno;
    close(pipe_fds[1]);
    abandon(pid);
    return err;
  }
  out->pid = pid;
  out->stdin_fd = pipe_fds[1];
  out->pidfd = pidfd;
  return 0;
}

static void remove_hook(instance_t *inst) {
  if (inst->cleanup == NULL) return;
  napi_remove_async_cleanup_hook(inst->cleanup);
  inst->cleanup = NULL;
}

static void on_closed(uv_handle_t *handle) {
  child_t *c = handle->data;
  instance_t *inst = c->inst;
  close(c->pidfd);
  if (c->prev != NULL) c->prev->next = c->next;
  else inst->children = c->next;
  if (c->next != NULL) c->next->prev = c->prev;
  free(c);
  /* The loop may only be closed once every handle has finished closing. */
  if (inst->tearing_down && inst->children == NULL) remove_hook(inst);
}

/* The JS side only resolves a promise and cannot throw: a failure here means the
 * environment is stopping (worker.terminate()), and then nobody waits for this exit. */
static void report_exit(child_t *c, int code, int signo) {
  napi_env env = c->inst->env;
  napi_ref ref = c->on_exit;
  napi_handle_scope scope;
  napi_value fn, recv, argv[2];
  c->on_exit = NULL;
  if (ref == NULL) return;
  if (napi_open_handle_scope(env, &scope) == napi_ok) {
    napi_status s = napi_get_reference_value(env, ref, &fn);
    if (s == napi_ok) s = napi_get_global(env, &recv);
    if (s == napi_ok) s = napi_create_int32(env, code, &argv[0]);
    if (s == napi_ok) s = napi_create_int32(env, signo, &argv[1]);
    /* make_callback, not call_function: it drains microtasks and process.nextTick. */
    if (s == napi_ok) s = napi_make_callback(env, NULL, recv, fn, 2, argv, NULL);
    bool pending = false;
    if (s != napi_ok && napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
    napi_close_handle_scope(env, scope);
  }
  napi_delete_reference(env, ref);
}

static void on_pidfd(uv_poll_t *handle, int status, int events) {
  child_t *c = handle->data;
  siginfo_t info;
  (void)events;
  if (c->reaped) return;
  if (status == 0) {
    /* Readable means exited; WNOHANG guards against a spurious wake-up anyway. An error
     * (ECHILD: someone else reaped it) falls through and is reported as a kill. */
    if (wait_pidfd(c->pidfd, &info, WEXITED | WNOWAIT | WNOHANG) == 0 && info.si_pid == 0)
      return;
  } else {
    /* The watcher broke (never seen): end the program rather than leave a zombie. */
    kill(-c->pid, SIGKILL);
  }
  int err = kill_group_and_reap(c->pid, c->pidfd, &info);
  c->reaped = 1;
  /* Handle and pidfd go only after the reap: the zombie keeps the pid (and group) ours. */
  uv_poll_stop(handle); /* cannot fail for a poll handle */
  uv_close((uv_handle_t *)handle, on_closed);
  if (err != 0) report_exit(c, -1, SIGKILL); /* unreachable in practice: say "killed" */
  else if (info.si_code == CLD_EXITED) report_exit(c, info.si_status, 0);
  else report_exit(c, -1, info.si_status);
}

/* worker.terminate() or the end of the process: no JS runs any more, but the loop still
 * turns until this hook is removed. Kill every group, reap as the pidfds turn readable,
 * and remove the hook once the last handle has closed, as Node requires before it closes
 * the loop (an open handle there aborts the whole process). */
static void on_env_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  instance_t *inst = arg;
  (void)handle;
  inst->tearing_down = 1;
  for (child_t *c = inst->children; c != NULL; c = c->next) {
    if (c->on_exit != NULL) napi_delete_reference(inst->env, c->on_exit);
    c->on_exit = NULL;
    if (!c->reaped) kill(-c->pid, SIGKILL);
  }
  if (inst->children == NULL) remove_hook(inst);
}

static void free_instance(napi_env env, void *data, void *hint) {
  instance_t *inst = data;
  (void)env;
  (void)hint;
  /* Runs only after the cleanup hook was removed, so after the last close: this is a
   * guard against freeing memory a live handle points to, not an expected case. */
  if (inst->children == NULL) free(inst);
}

static napi_value throw_error(napi_env env, const char *message) {
  napi_throw_error(env, "ERR_SPAWN_NATIVE", message);
  return NULL;
}

/* One allocation holds the pointer array, its NULL terminator and the bytes. */
static char **copy_strings(napi_env env, napi_value array) {
  uint32_t n;
  size_t total, len;
  napi_value item;
  if (napi_get_array_length(env, array, &n) != napi_ok) return NULL;
  total = (n + 1) * sizeof(char *);
  for (uint32_t i = 0; i < n; i++) {
    if (napi_get_element(env, array, i, &item) != napi_ok ||
        napi_get_value_string_utf8(env, item, NULL, 0, &len) != napi_ok)
      return NULL;
    total += len + 1;
  }
  char **out = malloc(total);
  if (out == NULL) return NULL;
  char *bytes = (char *)(out + n + 1), *end = (char *)out + total;
  for (uint32_t i = 0; i < n; i++) {
    if (napi_get_element(env, array, i, &item) != napi_ok ||
        napi_get_value_string_utf8(env, item, bytes, (size_t)(end - bytes), &len) != napi_ok) {
      free(out);
      return NULL;
    }
    out[i] = bytes;
    bytes += len + 1;
  }
  out[n] = NULL;
  return out;
}

/* Watches a started child from this environment's loop. 0, or an errno after which the
 * child has been killed and reaped and its fds are closed. */
static int watch_child(napi_env env, instance_t *inst, const started_t *st, napi_value on_exit) {
  child_t *c = calloc(1, sizeof *c);
  int err = c == NULL ? ENOMEM : -uv_poll_init(inst->loop, &c->poll, st->pidfd);
  if (err != 0) {
    free(c);
    abandon(st->pid);
    close(st->pidfd);
    close(st->stdin_fd);
    return err;
  }
  c->poll.data = c;
  c->inst = inst;
  c->pid = st->pid;
  c->pidfd = st->pidfd;
  c->next = inst->children;
  if (c->next != NULL) c->next->prev = c;
  inst->children = c;
  if (napi_create_reference(env, on_exit, 1, &c->on_exit) != napi_ok) err = ENOMEM;
  else err = -uv_poll_start(&c->poll, UV_READABLE, on_pidfd);
  if (err == 0) return 0;
  /* The handle exists: end the program now, then let the handle close (and the pidfd). */
  abandon(st->pid);
  c->reaped = 1;
  if (c->on_exit != NULL) napi_delete_reference(env, c->on_exit);
  c->on_exit = NULL;
  uv_close((uv_handle_t *)&c->poll, on_closed);
  close(st->stdin_fd);
  return err;
}

/* spawn(argv: string[], envp: string[], stdoutFd, stderrFd, onExit(code, signo)):
 * argv[0] is the path run. Returns { pid, stdinFd }, or a negative errno (ENOENT, EACCES...:
 * glibc reports exec failures through posix_spawn's result). Bad arguments throw. */
static napi_value js_spawn(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 5;
  napi_value args[5], result, value;
  napi_valuetype type;
  instance_t *inst;
  int32_t out_fd, err_fd;
  started_t st;
  if (napi_get_cb_info(env, cbinfo, &argc, args, NULL, NULL) != napi_ok || argc != 5 ||
      napi_get_value_int32(env, args[2], &out_fd) != napi_ok ||
      napi_get_value_int32(env, args[3], &err_fd) != napi_ok ||
      napi_typeof(env, args[4], &type) != napi_ok || type != napi_function ||
      napi_get_instance_data(env, (void **)&inst) != napi_ok)
    return throw_error(env, "spawn: bad arguments");
  char **argv = copy_strings(env, args[0]);
  char **envp = argv == NULL ? NULL : copy_strings(env, args[1]);
  if (envp == NULL || argv[0] == NULL) {
    free(argv);
    free(envp);
    return throw_error(env, "spawn: argv and envp must be arrays of strings, argv not empty");
  }
  int err = start_child(argv[0], argv, envp, out_fd, err_fd, &st);
  free(argv);
  free(envp);
  if (err == 0) err = watch_child(env, inst, &st, args[4]);
  if (err != 0) {
    napi_create_int32(env, -err, &result);
    return result;
  }
  if (napi_create_object(env, &result) != napi_ok ||
      napi_create_int32(env, st.pid, &value) != napi_ok ||
      napi_set_named_property(env, result, "pid", value) != napi_ok ||
      napi_create_int32(env, st.stdin_fd, &value) != napi_ok ||
      napi_set_named_property(env, result, "stdinFd", value) != napi_ok) {
    /* The watcher reaps it; nobody is told, which is right for a bug. */
    kill(-st.pid, SIGKILL);
    close(st.stdin_fd);
    return throw_error(env, "spawn: could not build the result");
  }
  return result;
}

static void free_handle(uv_handle_t *handle) { free(handle); }

/* Synchronous, for the main thread at start-up: the whole path (posix_spawn, pidfd_open,
 * uv_poll_init on a pidfd, waitid(P_PIDFD)) on /bin/true. Returns null or the reason. */
static napi_value js_self_test(napi_env env, napi_callback_info cbinfo) {
  char reason[200] = "";
  char *argv[] = {"/bin/true", NULL}, *envp[] = {NULL};
  instance_t *inst;
  started_t st;
  siginfo_t info;
  napi_value result;
  (void)cbinfo;
  if (napi_get_instance_data(env, (void **)&inst) != napi_ok)
    return throw_error(env, "selfTest: no instance data");
  int err = start_child(argv[0], argv, envp, -1, -1, &st);
  if (err != 0) {
    snprintf(reason, sizeof reason, "spawning /bin/true: %s", strerror(err));
  } else {
    close(st.stdin_fd);
    uv_poll_t *probe = malloc(sizeof *probe);
    int rc = probe == NULL ? UV_ENOMEM : uv_poll_init(inst->loop, probe, st.pidfd);
    if (rc == 0) uv_close((uv_handle_t *)probe, free_handle);
    else free(probe);
    struct pollfd p = {.fd = st.pidfd, .events = POLLIN};
    int ready;
    while ((ready = poll(&p, 1, 5000)) < 0 && errno == EINTR) {
    }
    if (ready <= 0) kill(-st.pid, SIGKILL);
    err = kill_group_and_reap(st.pid, st.pidfd, &info);
    if (err != 0) abandon(st.pid); /* waitid(P_PIDFD) needs Linux 5.4 */
    close(st.pidfd);
    if (rc != 0) snprintf(reason, sizeof reason, "uv_poll_init on a pidfd: %s", uv_strerror(rc));
    else if (ready <= 0) snprintf(reason, sizeof reason, "the pidfd of /bin/true never turned readable");
    else if (err != 0) snprintf(reason, sizeof reason, "waitid(P_PIDFD): %s", strerror(err));
    else if (info.si_code != CLD_EXITED || info.si_status != 0)
      snprintf(reason, sizeof reason, "/bin/true did not exit 0 (si_code %d, status %d)",
               info.si_code, info.si_status);
  }
  if (reason[0] == '\0') napi_get_null(env, &result);
  else napi_create_string_utf8(env, reason, NAPI_AUTO_LENGTH, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  instance_t *inst = calloc(1, sizeof *inst);
  if (inst == NULL) return throw_error(env, "out of memory");
  inst->env = env;
  if (napi_get_uv_event_loop(env, &inst->loop) != napi_ok ||
      napi_set_instance_data(env, inst, free_instance, NULL) != napi_ok) {
    free(inst);
    return throw_error(env, "could not set up the instance");
  }
  if (napi_add_async_cleanup_hook(env, on_env_teardown, inst, &inst->cleanup) != napi_ok ||
      napi_create_function(env, "spawn", NAPI_AUTO_LENGTH, js_spawn, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "spawn", fn) != napi_ok ||
      napi_create_function(env, "selfTest", NAPI_AUTO_LENGTH, js_self_test, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "selfTest", fn) != napi_ok)
    return throw_error(env, "could not set up the exports");
  return exports;
}
