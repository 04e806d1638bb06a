/* climits-exec: the chain-loader that puts a program into its cgroup before its first
 * instruction (uv_spawn has no pre-exec hook). Like s6's chain-loading tools it sets one
 * thing after another and then execs the next program:
 *
 *   climits-exec [--procs FILE]... [--uid N] [--gid N] [--groups N,N,...] [--umask OOO]
 *                [--dir D] [--nofile N] [--status-fd N] [--gate FD] -- PROGRAM [ARG]...
 *
 * 1. writes its own pid into every --procs file (cgroup.procs of each hierarchy);
 * 2. drops privileges in the only safe order: supplementary groups, gid, uid (numbers: the
 *    manager resolves user and group names at load, src/config/accounts.h);
 * 3. umask, working directory, the soft file limit (the manager raises its own; programs
 *    get the usual one back);
 * 4. with --gate, waits for one byte on FD: a replacement staged at an OOM kill waits there,
 *    inside its cgroup and ready, while the kernel tears the victim down, and the manager
 *    lets it go once the old run's exit is handled. End-of-file instead: not needed, exit 0;
 * 5. execvp (a bare PROGRAM is looked up in PATH).
 * If any step fails, it writes "ERRNO what" to --status-fd (ERRNO 0: no system error) and
 * exits 127; the manager reads that, words the error with its own strerror, and reports a
 * spawn error. On success the status fd is closed by exec (CLOEXEC), so the manager reads
 * end-of-file.
 *
 * It runs once per start, between the manager's fork and the program, on the path every
 * start and every restart waits for: plain C, no NSS, and where musl is installed it is
 * linked statically against it (CMakeLists.txt), which starts in a fraction of what a
 * dynamically linked glibc program takes (no loader, no relocations, no CPU feature probes,
 * which are VM exits under a hypervisor). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PROCS_FILES 4

static int status_fd = -1;

static void fail(const char* what, const char* detail, int error) {
  char message[1024];
  const char* space = detail ? " " : "";
  if (detail == NULL) detail = "";
  if (status_fd >= 0) {
    /* The manager adds ": strerror(ERRNO)" in its own words (glibc's, whatever libc this
     * helper was linked with). */
    int n = snprintf(message, sizeof message, "%d %s%s%s", error, what, space, detail);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof message) n = sizeof message - 1;
    ssize_t ignored = write(status_fd, message, (size_t)n);
    (void)ignored;
  } else if (error != 0) {
    fprintf(stderr, "climits-exec: %s%s%s: %s\n", what, space, detail, strerror(error));
  } else {
    fprintf(stderr, "climits-exec: %s%s%s\n", what, space, detail);
  }
  _exit(127);
}

static int parse_number(const char* text, unsigned long* out) {
  char* end = NULL;
  if (text[0] < '0' || text[0] > '9') return 0;
  errno = 0;
  *out = strtoul(text, &end, 10);
  return errno == 0 && *end == '\0';
}

static void enter_cgroup(const char* procs) {
  int fd = open(procs, O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail("entering cgroup", procs, errno);
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%d", (int)getpid());
  if (write(fd, pid, (size_t)n) != n) fail("entering cgroup", procs, errno);
  close(fd);
}

/* "N,N,..." into at most `capacity` gids; the count, or -1 if it is not such a list. */
static int parse_groups(const char* text, gid_t* groups, int capacity) {
  int count = 0;
  while (*text != '\0') {
    char* end = NULL;
    if (*text < '0' || *text > '9' || count == capacity) return -1;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || value > (gid_t)-1) return -1;
    groups[count++] = (gid_t)value;
    if (*end == ',')
      ++end;
    else if (*end != '\0')
      return -1;
    text = end;
  }
  return count;
}

#define MAX_GROUPS 65536

static void drop_privileges(const char* uid_text, const char* gid_text, const char* groups_text) {
  static gid_t groups[MAX_GROUPS];
  unsigned long uid = 0, gid = 0;
  if (uid_text == NULL && gid_text == NULL) return;
  if (uid_text != NULL && !parse_number(uid_text, &uid)) fail("bad --uid", uid_text, 0);
  if (gid_text == NULL || !parse_number(gid_text, &gid)) fail("bad or missing --gid", gid_text, 0);
  int count = 1;
  groups[0] = (gid_t)gid;
  if (groups_text != NULL && (count = parse_groups(groups_text, groups, MAX_GROUPS)) < 0)
    fail("bad --groups", groups_text, 0);
  /* Supplementary groups first, while we still may; then the gid; the uid last. */
  if (setgroups((size_t)count, groups) != 0) fail("setting supplementary groups", NULL, errno);
  if (setgid((gid_t)gid) != 0) fail("setgid", gid_text, errno);
  if (uid_text != NULL && setuid((uid_t)uid) != 0) fail("setuid", uid_text, errno);
}

int main(int argc, char** argv) {
  const char* procs[MAX_PROCS_FILES];
  int procs_count = 0;
  const char *uid = NULL, *gid = NULL, *groups = NULL, *gate = NULL, *dir = NULL,
             *umask_text = NULL, *nofile = NULL;
  int i = 1;
  for (; i < argc; ++i) {
    const char* flag = argv[i];
    if (strcmp(flag, "--") == 0) {
      ++i;
      break;
    }
    if (i + 1 >= argc) fail("missing value for", flag, 0);
    const char* value = argv[++i];
    unsigned long number;
    if (strcmp(flag, "--procs") == 0 && procs_count < MAX_PROCS_FILES)
      procs[procs_count++] = value;
    else if (strcmp(flag, "--uid") == 0)
      uid = value;
    else if (strcmp(flag, "--gid") == 0)
      gid = value;
    else if (strcmp(flag, "--groups") == 0)
      groups = value;
    else if (strcmp(flag, "--gate") == 0)
      gate = value;
    else if (strcmp(flag, "--dir") == 0)
      dir = value;
    else if (strcmp(flag, "--umask") == 0)
      umask_text = value;
    else if (strcmp(flag, "--nofile") == 0)
      nofile = value;
    else if (strcmp(flag, "--status-fd") == 0 && parse_number(value, &number) && number < INT_MAX) {
      status_fd = (int)number;
      fcntl(status_fd, F_SETFD, FD_CLOEXEC);
    } else
      fail("unknown option", flag, 0);
  }
  if (i >= argc) fail("no program to run", NULL, 0);

  for (int p = 0; p < procs_count; ++p) enter_cgroup(procs[p]);
  drop_privileges(uid, gid, groups);
  if (umask_text != NULL) umask((mode_t)strtoul(umask_text, NULL, 8));
  if (dir != NULL && chdir(dir) != 0) fail("changing directory to", dir, errno);
  if (nofile != NULL) {
    struct rlimit limit;
    unsigned long soft;
    if (parse_number(nofile, &soft) && getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
        soft < limit.rlim_cur) {
      limit.rlim_cur = (rlim_t)soft;
      setrlimit(RLIMIT_NOFILE, &limit);
    }
  }
  if (gate != NULL) {
    unsigned long fd;
    if (!parse_number(gate, &fd) || fd > INT_MAX) fail("bad --gate", gate, 0);
    char go;
    ssize_t n;
    do n = read((int)fd, &go, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) _exit(0); /* cancelled: the manager closed the gate without a word */
    close((int)fd);
  }
  execvp(argv[i], argv + i);
  fail(argv[i], NULL, errno);
  return 127;
}
