/* floor: the bare minimum a process manager must do to start N programs, each in a memory
 * cgroup of its own with a limit. It is the yardstick of bench/ (SPEC §10: "start within 2x
 * the time of a bare loop of mkdir cgroup + spawn"):
 *
 *   floor ROOT N LIMIT_BYTES ARG_PREFIX [serial]
 *
 * for i in 0..N-1: mkdir ROOT/floor-i, write LIMIT_BYTES to its memory.limit_in_bytes (v1) or
 * memory.max (v2), fork a child that writes its pid to the cgroup's cgroup.procs and execs
 * `sleep ARG_PREFIX<i>`. The parent does not wait per child; when every child has exec'd
 * (one shared close-on-exec pipe reaches end-of-file) it prints
 *
 *   ready REALTIME_NS ELAPSED_NS
 *
 * on stdout, where REALTIME_NS is CLOCK_REALTIME at that moment (the harness subtracts its own
 * launch time) and ELAPSED_NS the time since main() began. Then it waits for end-of-file on
 * stdin (or SIGTERM), kills its children, reaps them, removes the cgroups and exits 0.
 * With `serial`, each child is made with vfork, as glibc's posix_spawn makes it: the parent
 * sleeps until the child has exec'd, which is SPEC §10's "loop of mkdir cgroup + posix_spawn"
 * word for word. The bench's floor is the parallel one, the stricter of the two (at N = 500
 * here the serial loop takes about 7 % longer); `serial` is for analysis (bench/findings.md).
 * Plain C, no libraries: nothing else is in the way. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int write_text(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t n = strlen(text);
  ssize_t w = write(fd, text, n);
  close(fd);
  return w == (ssize_t)n ? 0 : -1;
}

static void on_term(int sig) { (void)sig; }

int main(int argc, char** argv) {
  long long started = now_ns(CLOCK_MONOTONIC);
  if (argc != 5 && !(argc == 6 && strcmp(argv[5], "serial") == 0)) {
    fprintf(stderr, "usage: floor ROOT N LIMIT_BYTES ARG_PREFIX [serial]\n");
    return 2;
  }
  const char* root = argv[1];
  int n = atoi(argv[2]);
  const char* limit = argv[3];
  const char* prefix = argv[4];
  int serial = argc == 6;
  if (n <= 0) return 2;
  char probe[4096];
  snprintf(probe, sizeof probe, "%s/memory.limit_in_bytes", root);
  const char* limit_file = access(probe, F_OK) == 0 ? "memory.limit_in_bytes" : "memory.max";

  pid_t* children = calloc((size_t)n, sizeof(pid_t));
  int done[2];
  if (children == NULL || pipe2(done, O_CLOEXEC) != 0) {
    perror("floor");
    return 1;
  }
  char dir[4096], path[4096];
  for (int i = 0; i < n; ++i) {
    if (snprintf(dir, sizeof dir, "%s/floor-%d", root, i) >= (int)sizeof dir) return 2;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
      fprintf(stderr, "floor: mkdir %s: %s\n", dir, strerror(errno));
      return 1;
    }
    if (snprintf(path, sizeof path, "%s/%s", dir, limit_file) >= (int)sizeof path) return 2;
    if (write_text(path, limit) != 0) {
      fprintf(stderr, "floor: %s: %s\n", path, strerror(errno));
      return 1;
    }
    /* vfork as glibc's posix_spawn does (CLONE_VM | CLONE_VFORK): this parent sleeps until
     * the child has exec'd or exited. */
    pid_t pid = serial ? vfork() : fork();
    if (pid < 0) {
      perror("floor: fork");
      return 1;
    }
    if (pid == 0) {
      char procs[4096], self[32], arg[64];
      if (snprintf(procs, sizeof procs, "%s/cgroup.procs", dir) >= (int)sizeof procs) _exit(127);
      snprintf(self, sizeof self, "%d", (int)getpid());
      snprintf(arg, sizeof arg, "%s%d", prefix, i);
      close(done[0]);
      if (write_text(procs, self) != 0) {
        ssize_t ignored = write(done[1], "E", 1);
        (void)ignored;
        _exit(127);
      }
      execlp("sleep", "sleep", arg, (char*)NULL);
      ssize_t ignored = write(done[1], "E", 1);
      (void)ignored;
      _exit(127);
    }
    children[i] = pid;
  }
  close(done[1]);
  char buffer[64];
  ssize_t got, failures = 0;
  while ((got = read(done[0], buffer, sizeof buffer)) != 0) {
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) break;
    failures += got;
  }
  long long ready = now_ns(CLOCK_REALTIME);
  printf("ready %lld %lld\n", ready, now_ns(CLOCK_MONOTONIC) - started);
  fflush(stdout);
  if (failures) fprintf(stderr, "floor: %zd children failed to enter their cgroup or exec\n", failures);

  /* Hold them until the harness is done measuring. */
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_term;
  sigaction(SIGTERM, &action, NULL);
  while (read(0, buffer, sizeof buffer) > 0) {
  }
  for (int i = 0; i < n; ++i) kill(children[i], SIGKILL);
  for (int i = 0; i < n; ++i) waitpid(children[i], NULL, 0);
  int status = failures ? 1 : 0;
  for (int i = 0; i < n; ++i) {
    snprintf(dir, sizeof dir, "%s/floor-%d", root, i);
    for (int tries = 0; rmdir(dir) != 0 && errno == EBUSY && tries < 1000; ++tries)
      usleep(1000);
    if (access(dir, F_OK) == 0) {
      fprintf(stderr, "floor: cannot remove %s: %s\n", dir, strerror(errno));
      status = 1;
    }
  }
  return status;
}
