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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/prctl.h>
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
  int stdin_fd; /* our end of the pipe: close-on-exec, non-blocking; -1 for a given stdin */
  int pidfd;
  /* Read ends of the capture pipes of stdout and stderr (close-on-exec, non-blocking), or
   * -1 for a stream not captured. */
  int capture_fds[2];
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

/* The group kill, then the reap. The program must have exited or been SIGKILLed.
 * *kill_err (when not NULL) gets the kill's errno, or 0: EPERM when no process of the
 * group could be signalled (every one left, the zombie included, runs as another uid: a
 * setuid program). ESRCH cannot happen while the zombie pins the group. */
static int kill_group_and_reap(pid_t pid, int pidfd, siginfo_t *info, int *kill_err) {
  int err = wait_pidfd(pidfd, info, WEXITED | WNOWAIT);
  if (err != 0) return err;
  /* A failed kill is reported, and is no reason not to reap. */
  int killed = kill(-pid, SIGKILL);
  if (kill_err != NULL) *kill_err = killed == 0 ? 0 : errno;
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

/* output_file or error_file: opened by the child, in the program's identity. */
typedef struct {
  const char *path; /* NULL: /dev/null */
  int mode;         /* for a file the open creates, minus the program's umask */
} output_t;

/* What a program gets besides argv, envp and stdin. -1 and NULL keep ours. */
typedef struct {
  int uid, gid; /* both or neither: set, they come with an empty supplementary group list */
  const char *cwd;
  int umask;
  output_t outputs[2]; /* stdout, stderr */
} setup_t;

static const setup_t KEEP_OURS = {-1, -1, NULL, -1, {{NULL, 0}, {NULL, 0}}};

/* Why an output file was refused, beside the errnos (which end at 4095, MAX_ERRNO). */
#define OUTPUT_NOT_REGULAR 4096 /* a FIFO, socket, device: what a shell would block on */
#define OUTPUT_HARD_LINKED 4097 /* st_nlink > 1: the same file may be reachable elsewhere */

/* posix_spawn for the common case: nothing of setup_t changes. `sources` are above 2 (or
 * -1 for /dev/null). Returns 0 or an errno, exec failures included (glibc reports them). */
static int spawn_plain(const char *file, char *const argv[], char *const envp[],
                       const int sources[3], pid_t *pid) {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  sigset_t all, none;
  int err;
  if ((err = posix_spawnattr_init(&attr)) != 0) return err;
  if ((err = posix_spawn_file_actions_init(&actions)) != 0) {
    posix_spawnattr_destroy(&attr);
    return err;
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
    if (sources[target] < 0)
      TRY(posix_spawn_file_actions_addopen(&actions, target, "/dev/null",
                                           target == 0 ? O_RDONLY : O_WRONLY, 0));
    else
      TRY(posix_spawn_file_actions_adddup2(&actions, sources[target], target));
  }
  /* Every other fd is close-on-exec (Node opens all with O_CLOEXEC; the daemon closes
   * inherited ones at start-up, src/ops/inherited-fds.ts), as with child_process. */
  TRY(posix_spawn(pid, file, &actions, &attr, argv, envp));
done:
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  return err;
}

/* 32-bit x86 and ARM kept 16-bit ids under the plain names; glibc calls the *32 ones. */
#ifdef SYS_setuid32
#define SYS_SETUID SYS_setuid32
#define SYS_SETGID SYS_setgid32
#define SYS_SETGROUPS SYS_setgroups32
#else
#define SYS_SETUID SYS_setuid
#define SYS_SETGID SYS_setgid
#define SYS_SETGROUPS SYS_setgroups
#endif

/* Everything the vfork child needs, prepared by the parent: the child must not allocate. */
typedef struct {
  const char *file;
  char *const *argv;
  char *const *envp;
  int fds[3]; /* above 2, close-on-exec; /dev/null for an output opened by the child */
  const setup_t *setup;
  int sigrtmin; /* SIGRTMIN is a glibc function call: read in the parent */
  sigset_t none;
} child_job_t;

/* What the vfork child leaves in the parent's memory when it fails, before it exits. */
typedef struct {
  int err;    /* an errno, or OUTPUT_NOT_REGULAR / OUTPUT_HARD_LINKED */
  int target; /* 1 or 2: opening that output failed; 0: any other step (exec included) */
} child_report_t;

/* In the vfork child, after the id switch and the umask: opens an output as a shell's
 * `>>path` would, in the program's own identity, so a path the program's user controls
 * gives it nothing it could not open itself. O_NOFOLLOW: no symbolic link as the last
 * component (ELOOP). O_NONBLOCK: a FIFO without reader fails with ENXIO instead of blocking
 * (and with one, like a device, is refused below). A hard-linked file is refused too: it
 * may be someone else's file under a second name. Raw syscalls only; statx has the same
 * struct on every architecture. Returns 0 or why. */
static int open_output(const output_t *output, int target) {
  struct statx st;
  int err = 0;
  int fd = (int)syscall(SYS_openat, AT_FDCWD, output->path,
                        O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
                            O_NOCTTY,
                        output->mode);
  if (fd < 0) return errno;
  if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_NLINK, &st) != 0) err = errno;
  else if (!S_ISREG(st.stx_mode)) err = OUTPUT_NOT_REGULAR;
  else if (st.stx_nlink != 1) err = OUTPUT_HARD_LINKED;
  /* F_SETFL replaces the status flags: O_APPEND stays, O_NONBLOCK goes. */
  else if (syscall(SYS_fcntl, fd, F_SETFL, O_APPEND) != 0) err = errno;
  /* fd is above 2 (0-2 are taken by then); dup3 without flags drops close-on-exec. */
  else if (syscall(SYS_dup3, fd, target, 0) < 0) err = errno;
  syscall(SYS_close, fd);
  return err;
}

/* The vfork child. It runs on the parent's stack, in the daemon's memory, while the daemon's
 * other threads go on running: so system calls only, nothing that takes a lock or writes
 * shared state. Above all not glibc's setuid/setgid/setgroups: in a multi-threaded process
 * they make every thread change its ids too (POSIX ids are per process; the kernel's are
 * per thread), and here "every thread" would be the daemon's. Returns the errno of the
 * first failed step (with *failed_target set when that was opening an output); returns
 * only on failure. */
static int child_exec(const child_job_t *job, volatile int *failed_target) {
  /* Every signal is blocked (the parent blocked them all around vfork), so no handler of
   * Node's can run here; set every disposition to the default before unblocking, so none
   * ever will, and so that an ignored SIGPIPE does not survive exec. sigaction() is glibc's
   * translation to rt_sigaction (whose struct differs per architecture): no lock, no state.
   * glibc's two internal signals are skipped (sigaction refuses them): their handlers
   * ignore any signal not sent by the thread's own process, and exec resets them. */
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP || (sig >= 32 && sig < job->sigrtmin)) continue;
    if (sigaction(sig, &dfl, NULL) != 0) return errno;
  }
  /* As POSIX_SPAWN_SETSID on the other path. */
  if (syscall(SYS_setsid) < 0) return errno;
  /* dup3 with no flags: the copy on 0-2 loses close-on-exec. Sources are above 2. */
  for (int target = 0; target < 3; target++)
    if (syscall(SYS_dup3, job->fds[target], target, 0) < 0) return errno;
  /* Before the ids change, as libuv's child does: both spawners enter the same directories. */
  if (job->setup->cwd != NULL && syscall(SYS_chdir, job->setup->cwd) != 0) return errno;
  if (job->setup->umask >= 0) syscall(SYS_umask, job->setup->umask); /* cannot fail */
  /* Groups before the uid: once the uid is not 0 any more, they cannot change. */
  if (job->setup->uid >= 0) {
    if (syscall(SYS_SETGROUPS, 0, NULL) != 0) return errno;
    if (syscall(SYS_SETGID, job->setup->gid) != 0) return errno;
    if (syscall(SYS_SETUID, job->setup->uid) != 0) return errno;
  }
  /* Only now, as the program and with its umask, as a shell redirection would. */
  for (int target = 1; target < 3; target++) {
    const output_t *output = &job->setup->outputs[target - 1];
    int err = output->path == NULL ? 0 : open_output(output, target);
    if (err != 0) {
      *failed_target = target;
      return err;
    }
  }
  /* Last, all dispositions being the defaults now; exec keeps the mask. */
  if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &job->none, NULL, _NSIG / 8) != 0) return errno;
  syscall(SYS_execve, job->file, job->argv, job->envp);
  return errno;
}

/* /dev/null for the child's stdout or stderr, above 2 like every source there, so that the
 * child's dup3 onto 0-2 cannot overwrite it. */
static int open_devnull(void) {
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC), lifted = -1;
  if (fd < 0 || lift(fd, &lifted) == fd) return fd;
  /* fd was one of 0-2 (our own stdio had been closed): keep only the copy above 2. */
  int saved = errno;
  close(fd);
  errno = saved;
  return lifted;
}

/* vfork alone in its frame, which the child shares until it execs or exits: the caller's
 * variables stay out of the child's reach (and out of -Wclobbered's). The child never
 * returns from here. */
__attribute__((noinline)) static pid_t vfork_and_exec(const child_job_t *job,
                                                      volatile child_report_t *report) {
  pid_t pid = vfork();
  if (pid == 0) {
    report->err = child_exec(job, &report->target);
    _exit(127);
  }
  return pid;
}

/* glibc's posix_spawn cannot change ids, directory or umask, nor open a file after those
 * (no such attributes), hence this second path, taken only when setup asks for one. vfork,
 * not fork: the child borrows the daemon's memory instead of copying its page tables, so
 * the cost stays as flat as posix_spawn's, which is itself clone(CLONE_VM | CLONE_VFORK) in
 * glibc. Same contract as spawn_plain: 0, or the errno of the step that failed (the child
 * is reaped then), with *failed_target 1 or 2 when that step was opening an output. */
static int spawn_with_setup(const char *file, char *const argv[], char *const envp[],
                            const int sources[3], const setup_t *setup, pid_t *pid_out,
                            int *failed_target) {
  child_job_t job = {.file = file, .argv = argv, .envp = envp, .setup = setup};
  int devnull = -1, err = 0;
  sigset_t all, old;
  /* Written by the child, in our memory, before it ends. */
  volatile child_report_t report = {.err = 0, .target = 0};
  job.sigrtmin = SIGRTMIN;
  sigemptyset(&job.none);
  for (int target = 0; target < 3; target++) {
    if (sources[target] < 0 && devnull < 0 && (devnull = open_devnull()) < 0) return errno;
    job.fds[target] = sources[target] >= 0 ? sources[target] : devnull;
  }
  /* As glibc's posix_spawn: every signal blocked in this thread across vfork, the internal
   * ones included (pthread_sigmask would leave those out), so that the child starts with
   * them all blocked. Raw, because glibc's sigprocmask also leaves them out. */
  memset(&all, 0xff, sizeof all);
  if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, _NSIG / 8) != 0) {
    err = errno;
    if (devnull >= 0) close(devnull);
    return err;
  }
  pid_t pid = vfork_and_exec(&job, &report);
  if (pid < 0) err = errno;
  /* Restores what the same call just saved: it cannot fail. */
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, _NSIG / 8);
  if (devnull >= 0) close(devnull);
  if (err != 0) return err;
  if (report.err != 0) {
    /* Our child, exited already (vfork returned): reap it by pid, never waitpid(-1). */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    *failed_target = report.target;
    return report.err;
  }
  *pid_out = pid;
  return 0;
}

/* An output file too: only the child may open it, after the id switch. */
static int changes_anything(const setup_t *setup) {
  return setup->uid >= 0 || setup->cwd != NULL || setup->umask >= 0 ||
         setup->outputs[0].path != NULL || setup->outputs[1].path != NULL;
}

/* Returns 0 or an errno; *failed_target is 1 or 2 when opening that output was the step
 * that failed (the errno then may be OUTPUT_NOT_REGULAR or OUTPUT_HARD_LINKED), else 0.
 * An output without a path gets /dev/null. stdin_source -1: the program reads a new pipe,
 * whose write end comes back in out->stdin_fd; else it gets that fd (a spool file) as its
 * stdin, which stays the caller's, and out->stdin_fd is -1. capture: bit 1 stdout, bit 2
 * stderr: that stream is the write end of a new pipe whose read end comes back in
 * out->capture_fds (the caller passes no path for it). */
static int start_child(const char *file, char *const argv[], char *const envp[],
                       int stdin_source, const setup_t *setup, int capture, started_t *out,
                       int *failed_target) {
  int pipe_fds[2] = {-1, -1}, lifted[3] = {-1, -1, -1}, err = 0;
  int captures[2][2] = {{-1, -1}, {-1, -1}};
  pid_t pid = -1;

  *failed_target = 0;
  /* Close-on-exec from birth: a spawn in another thread must not inherit this pipe. */
  if (stdin_source < 0 && pipe2(pipe_fds, O_CLOEXEC) != 0) return errno;
  /* stdout and stderr start on /dev/null (or a capture pipe); the child replaces one with
   * its file. */
  int sources[3] = {stdin_source < 0 ? pipe_fds[0] : stdin_source, -1, -1};
  for (int i = 0; i < 2 && err == 0; i++) {
    if ((capture & (1 << i)) == 0) continue;
    /* Our read end is non-blocking for libuv; the program's write end stays blocking. */
    if (pipe2(captures[i], O_CLOEXEC) != 0 ||
        fcntl(captures[i][0], F_SETFL, fcntl(captures[i][0], F_GETFL) | O_NONBLOCK) != 0)
      err = errno;
    else sources[i + 1] = captures[i][1];
  }
  for (int target = 0; target < 3 && err == 0; target++) {
    if (sources[target] < 0) continue;
    if (lift(sources[target], &lifted[target]) < 0) {
      err = errno;
      break;
    }
    if (lifted[target] >= 0) sources[target] = lifted[target];
  }
  if (err == 0) {
    err = changes_anything(setup)
              ? spawn_with_setup(file, argv, envp, sources, setup, &pid, failed_target)
              : spawn_plain(file, argv, envp, sources, &pid);
  }
  for (int i = 0; i < 3; i++)
    if (lifted[i] >= 0) close(lifted[i]);
  if (pipe_fds[0] >= 0) close(pipe_fds[0]);
  /* The program holds its own copies of the write ends: ours would keep EOF away. */
  for (int i = 0; i < 2; i++)
    if (captures[i][1] >= 0) close(captures[i][1]);
  if (err != 0) {
    if (pipe_fds[1] >= 0) close(pipe_fds[1]);
    for (int i = 0; i < 2; i++)
      if (captures[i][0] >= 0) close(captures[i][0]);
    return err;
  }
  /* libuv streams expect a non-blocking fd. A pidfd is always close-on-exec. */
  int flags = pipe_fds[1] < 0 ? 0 : fcntl(pipe_fds[1], F_GETFL), pidfd = -1;
  if (flags >= 0 && (pipe_fds[1] < 0 || fcntl(pipe_fds[1], F_SETFL, flags | O_NONBLOCK) == 0))
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) {
    err = errno;
    if (pipe_fds[1] >= 0) close(pipe_fds[1]);
    for (int i = 0; i < 2; i++)
      if (captures[i][0] >= 0) close(captures[i][0]);
    abandon(pid);
    return err;
  }
  out->pid = pid;
  out->stdin_fd = pipe_fds[1];
  out->pidfd = pidfd;
  out->capture_fds[0] = captures[0][0];
  out->capture_fds[1] = captures[1][0];
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
 * environment is stopping (worker.terminate()), and then nobody waits for this exit.
 * kill_err: the errno of the group kill before the reap, or 0. */
static void report_exit(child_t *c, int code, int signo, int kill_err) {
  napi_env env = c->inst->env;
  napi_ref ref = c->on_exit;
  napi_handle_scope scope;
  napi_value fn, recv, argv[3];
  c->on_exit = NULL;
  if (ref == NULL) return;
  if (napi_open_handle_scope(env, &scope) == napi_ok) {
    napi_status s = napi_get_reference_value(env, ref, &fn);
    if (s == napi_ok) s = napi_get_global(env, &recv);
    if (s == napi_ok) s = napi_create_int32(env, code, &argv[0]);
    if (s == napi_ok) s = napi_create_int32(env, signo, &argv[1]);
    if (s == napi_ok) s = napi_create_int32(env, kill_err, &argv[2]);
    /* make_callback, not call_function: it drains microtasks and process.nextTick. */
    if (s == napi_ok) s = napi_make_callback(env, NULL, recv, fn, 3, argv, NULL);
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
  int kill_err = 0;
  int err = kill_group_and_reap(c->pid, c->pidfd, &info, &kill_err);
  c->reaped = 1;
  /* Handle and pidfd go only after the reap: the zombie keeps the pid (and group) ours. */
  uv_poll_stop(handle); /* cannot fail for a poll handle */
  uv_close((uv_handle_t *)handle, on_closed);
  if (err != 0) report_exit(c, -1, SIGKILL, kill_err); /* unreachable in practice: "killed" */
  else if (info.si_code == CLD_EXITED) report_exit(c, info.si_status, 0, kill_err);
  else report_exit(c, -1, info.si_status, kill_err);
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

/* Our ends of the program's stdin and capture pipes, when nobody will take them. */
static void close_started_fds(const started_t *st) {
  if (st->stdin_fd >= 0) close(st->stdin_fd);
  for (int i = 0; i < 2; i++)
    if (st->capture_fds[i] >= 0) close(st->capture_fds[i]);
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
    close_started_fds(st);
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
  close_started_fds(st);
  return err;
}

/* A string argument, or NULL for null. *out is malloc'ed (NULL for null). 0 or -1. */
static int copy_optional_string(napi_env env, napi_value value, char **out) {
  napi_valuetype type;
  size_t len;
  *out = NULL;
  if (napi_typeof(env, value, &type) != napi_ok) return -1;
  if (type == napi_null) return 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok ||
      (*out = malloc(len + 1)) == NULL)
    return -1;
  if (napi_get_value_string_utf8(env, value, *out, len + 1, &len) != napi_ok) {
    free(*out);
    *out = NULL;
    return -1;
  }
  return 0;
}

/* An output's path (string | null) and mode (0-0777) from JS. 0 or -1. */
static int get_output(napi_env env, napi_value path, napi_value mode, output_t *out,
                      char **owned) {
  int32_t m;
  if (copy_optional_string(env, path, owned) != 0 ||
      napi_get_value_int32(env, mode, &m) != napi_ok || m < 0 || m > 0777)
    return -1;
  out->path = *owned;
  out->mode = m;
  return 0;
}

/* { outputFd: 1 | 2, error }: opening that output failed; error is an errno or one of
 * OUTPUT_NOT_REGULAR, OUTPUT_HARD_LINKED. NULL if the object could not be built. */
static napi_value output_failure(napi_env env, int target, int err) {
  napi_value result, value;
  if (napi_create_object(env, &result) != napi_ok ||
      napi_create_int32(env, target, &value) != napi_ok ||
      napi_set_named_property(env, result, "outputFd", value) != napi_ok ||
      napi_create_int32(env, err, &value) != napi_ok ||
      napi_set_named_property(env, result, "error", value) != napi_ok)
    return NULL;
  return result;
}

/* spawn(argv: string[], envp: string[], stdinFd, stdoutPath: string | null, stdoutMode,
 * stderrPath: string | null, stderrMode, uid, gid, cwd: string | null, umask,
 * onExit(code, signo), capture): capture bit 1 (stdout) or 2 (stderr): that stream goes
 * to a pipe whose read end comes back as stdoutFd / stderrFd (else -1); it must have no
 * path. argv[0] is the path run; stdinFd -1 makes a pipe, else that fd is
 * the program's stdin (it stays ours: the caller closes it); uid, gid and umask -1 keep
 * ours; a null path is /dev/null, a path is opened by the child once it is the program
 * (open_output). Returns { pid, stdinFd, stdoutFd, stderrFd } (-1 when stdinFd was given);
 * { outputFd, error } when an output was refused or could not be
 * opened (nothing ran); else a negative errno (ENOENT, EACCES, EPERM...: exec and setup
 * failures come back through the result on both paths). Bad arguments throw. */
static napi_value js_spawn(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 13;
  napi_value args[13], result, value;
  napi_valuetype type;
  instance_t *inst;
  int32_t stdin_source, uid, gid, mask, capture;
  char *cwd = NULL, *paths[2] = {NULL, NULL};
  setup_t setup = KEEP_OURS;
  started_t st;
  if (napi_get_cb_info(env, cbinfo, &argc, args, NULL, NULL) != napi_ok || argc != 13 ||
      napi_get_value_int32(env, args[12], &capture) != napi_ok || capture < 0 || capture > 3 ||
      napi_get_value_int32(env, args[2], &stdin_source) != napi_ok || stdin_source < -1 ||
      napi_get_value_int32(env, args[7], &uid) != napi_ok ||
      napi_get_value_int32(env, args[8], &gid) != napi_ok ||
      napi_get_value_int32(env, args[10], &mask) != napi_ok ||
      napi_typeof(env, args[11], &type) != napi_ok || type != napi_function ||
      napi_get_instance_data(env, (void **)&inst) != napi_ok || (uid < 0) != (gid < 0) ||
      mask > 0777 || get_output(env, args[3], args[4], &setup.outputs[0], &paths[0]) != 0 ||
      get_output(env, args[5], args[6], &setup.outputs[1], &paths[1]) != 0 ||
      copy_optional_string(env, args[9], &cwd) != 0 ||
      ((capture & 1) != 0 && setup.outputs[0].path != NULL) ||
      ((capture & 2) != 0 && setup.outputs[1].path != NULL)) {
    free(cwd);
    free(paths[0]);
    free(paths[1]);
    return throw_error(env, "spawn: bad arguments");
  }
  char **argv = copy_strings(env, args[0]);
  char **envp = argv == NULL ? NULL : copy_strings(env, args[1]);
  if (envp == NULL || argv[0] == NULL) {
    free(argv);
    free(envp);
    free(cwd);
    free(paths[0]);
    free(paths[1]);
    return throw_error(env, "spawn: argv and envp must be arrays of strings, argv not empty");
  }
  setup.uid = uid;
  setup.gid = gid;
  setup.cwd = cwd;
  setup.umask = mask < 0 ? -1 : mask;
  int failed_target = 0;
  int err = start_child(argv[0], argv, envp, stdin_source, &setup, capture, &st, &failed_target);
  free(argv);
  free(envp);
  free(cwd);
  free(paths[0]);
  free(paths[1]);
  if (err != 0 && failed_target != 0) {
    result = output_failure(env, failed_target, err);
    return result != NULL ? result : throw_error(env, "spawn: could not build the result");
  }
  if (err == 0) err = watch_child(env, inst, &st, args[11]);
  if (err != 0) {
    napi_create_int32(env, -err, &result);
    return result;
  }
  if (napi_create_object(env, &result) != napi_ok ||
      napi_create_int32(env, st.pid, &value) != napi_ok ||
      napi_set_named_property(env, result, "pid", value) != napi_ok ||
      napi_create_int32(env, st.stdin_fd, &value) != napi_ok ||
      napi_set_named_property(env, result, "stdinFd", value) != napi_ok ||
      napi_create_int32(env, st.capture_fds[0], &value) != napi_ok ||
      napi_set_named_property(env, result, "stdoutFd", value) != napi_ok ||
      napi_create_int32(env, st.capture_fds[1], &value) != napi_ok ||
      napi_set_named_property(env, result, "stderrFd", value) != napi_ok) {
    /* The watcher reaps it; nobody is told, which is right for a bug. */
    kill(-st.pid, SIGKILL);
    close_started_fds(&st);
    return throw_error(env, "spawn: could not build the result");
  }
  return result;
}

static void free_handle(uv_handle_t *handle) { free(handle); }

/* One run of /bin/true for the self-test; reason stays "" when everything worked. */
static void probe_once(instance_t *inst, const setup_t *setup, const char *path, char *reason,
                       size_t size) {
  char *argv[] = {"/bin/true", NULL}, *envp[] = {NULL};
  started_t st;
  siginfo_t info;
  int failed_target;
  int err = start_child(argv[0], argv, envp, -1, setup, 0, &st, &failed_target);
  if (err != 0) {
    snprintf(reason, size, "spawning /bin/true (%s): %s", path, strerror(err));
    return;
  }
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
  err = kill_group_and_reap(st.pid, st.pidfd, &info, NULL);
  if (err != 0) abandon(st.pid); /* waitid(P_PIDFD) needs Linux 5.4 */
  close(st.pidfd);
  if (rc != 0) snprintf(reason, size, "uv_poll_init on a pidfd: %s", uv_strerror(rc));
  else if (ready <= 0) snprintf(reason, size, "the pidfd of /bin/true never turned readable");
  else if (err != 0) snprintf(reason, size, "waitid(P_PIDFD): %s", strerror(err));
  else if (info.si_code != CLD_EXITED || info.si_status != 0)
    snprintf(reason, size, "/bin/true (%s) did not exit 0 (si_code %d, status %d)", path,
             info.si_code, info.si_status);
}

/* Synchronous, for the main thread at start-up: the whole path (posix_spawn, pidfd_open,
 * uv_poll_init on a pidfd, waitid(P_PIDFD)) on /bin/true, then the vfork path (a chdir to
 * "/", which needs no privilege). Returns null or the reason. */
static napi_value js_self_test(napi_env env, napi_callback_info cbinfo) {
  char reason[200] = "";
  instance_t *inst;
  napi_value result;
  const setup_t in_root = {.uid = -1, .gid = -1, .cwd = "/", .umask = -1};
  (void)cbinfo;
  if (napi_get_instance_data(env, (void **)&inst) != napi_ok)
    return throw_error(env, "selfTest: no instance data");
  probe_once(inst, &KEEP_OURS, "posix_spawn", reason, sizeof reason);
  if (reason[0] == '\0') probe_once(inst, &in_root, "vfork", reason, sizeof reason);
  if (reason[0] == '\0') napi_get_null(env, &result);
  else napi_create_string_utf8(env, reason, NAPI_AUTO_LENGTH, &result);
  return result;
}

/* hardenProcess(): for the main thread at start-up, once; both settings are per process.
 * PR_SET_DUMPABLE 0: /proc/<daemon>/environ, mem, maps, fd... become root's, so a program
 * running under the daemon's uid can no longer read its environment, memory or open files
 * (the daemon itself still can: the kernel lets a thread group into its own entries);
 * execve makes each program dumpable again. PR_SET_CHILD_SUBREAPER: a process a program
 * leaves behind (setsid, or a parent that exited) is reparented to the daemon instead of
 * init, where src/ops/orphan-reaper.ts ends and reaps it. Returns { dumpable, subreaper }:
 * null for each setting made, else why not. */
static napi_value js_harden_process(napi_env env, napi_callback_info cbinfo) {
  napi_value result, value;
  const int options[2] = {PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER};
  const unsigned long values[2] = {0, 1};
  const char *names[2] = {"dumpable", "subreaper"};
  (void)cbinfo;
  if (napi_create_object(env, &result) != napi_ok)
    return throw_error(env, "hardenProcess: could not build the result");
  for (int i = 0; i < 2; i++) {
    napi_status s = prctl(options[i], values[i], 0, 0, 0) == 0
                        ? napi_get_null(env, &value)
                        : napi_create_string_utf8(env, strerror(errno), NAPI_AUTO_LENGTH, &value);
    if (s != napi_ok || napi_set_named_property(env, result, names[i], value) != napi_ok)
      return throw_error(env, "hardenProcess: could not build the result");
  }
  return result;
}

/* reapOrphan(pid): for the main thread's sweep, on one of its own children (as listed in
 * /proc/self/task/<pid>/children). 0: an orphan that runs; 1: an orphan that had exited,
 * now reaped; 2: not an orphan (in the daemon's own session: started by the main thread,
 * e.g. child_process for getent, and reaped by libuv: left alone); or -errno (ESRCH,
 * ECHILD: gone, or not a child of this thread). An orphan is told apart by its session:
 * every program leads a session of its own, and no descendant can rejoin ours.
 * Sound against pid reuse: the pidfd pins the process from before getsid until the check
 * that it is still our unreaped child, so getsid described that very process. __WNOTHREAD:
 * a worker thread's program is never touched here, whatever pid is passed. */
static napi_value js_reap_orphan(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value arg, result;
  int32_t pid;
  siginfo_t info;
  int code;
  if (napi_get_cb_info(env, cbinfo, &argc, &arg, NULL, NULL) != napi_ok || argc != 1 ||
      napi_get_value_int32(env, arg, &pid) != napi_ok || pid <= 0)
    return throw_error(env, "reapOrphan: bad arguments");
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) {
    code = -errno;
  } else {
    pid_t sid = getsid(pid);
    memset(&info, 0, sizeof info);
    if (waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG | WNOWAIT | __WNOTHREAD) != 0)
      code = -errno;
    else if (sid < 0 || sid == getsid(0))
      code = 2;
    else if (info.si_pid == 0)
      code = 0;
    else if ((code = wait_pidfd(pidfd, &info, WEXITED | WNOHANG | __WNOTHREAD)) == 0)
      code = 1;
    else
      code = -code;
    close(pidfd);
  }
  napi_create_int32(env, code, &result);
  return result;
}

/* The shape of spawn()'s arguments and results: bump it with every change to them, and
 * SPAWN_INTERFACE in native/addons.ts with it. A build left from an older checkout then
 * fails to load (and `auto` falls back) instead of throwing "bad arguments" per delivery. */
#define SPAWN_INTERFACE 3

NAPI_MODULE_INIT() {
  napi_value fn, version;
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
      napi_set_named_property(env, exports, "selfTest", fn) != napi_ok ||
      napi_create_function(env, "hardenProcess", NAPI_AUTO_LENGTH, js_harden_process, NULL,
                           &fn) != napi_ok ||
      napi_set_named_property(env, exports, "hardenProcess", fn) != napi_ok ||
      napi_create_function(env, "reapOrphan", NAPI_AUTO_LENGTH, js_reap_orphan, NULL, &fn) !=
          napi_ok ||
      napi_set_named_property(env, exports, "reapOrphan", fn) != napi_ok ||
      napi_create_int32(env, SPAWN_INTERFACE, &version) != napi_ok ||
      napi_set_named_property(env, exports, "interface", version) != napi_ok)
    return throw_error(env, "could not set up the exports");
  return exports;
}
