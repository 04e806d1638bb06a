/* climits-exec: the chain-loader that puts a program into its cgroup before its first
 * instruction (uv_spawn has no pre-exec hook). Like s6's chain-loading tools it sets one
 * thing after another and then execs the next program:
 *
 *   climits-exec [--procs FILE]... [--user U] [--group G] [--umask OOO] [--dir D]
 *                [--nofile N] [--status-fd N] -- PROGRAM [ARG]...
 *
 * 1. writes its own pid into every --procs file (cgroup.procs of each hierarchy);
 * 2. drops privileges in the only safe order: supplementary groups, gid, uid;
 * 3. umask, working directory, the soft file limit (the manager raises its own; programs
 *    get the usual one back), then execvp (a bare PROGRAM is looked up in PATH).
 * If any step fails, it writes "what: reason" to --status-fd and exits 127; the manager reads
 * that and reports a spawn error. On success the status fd is closed by exec (CLOEXEC), so
 * the manager reads end-of-file. Plain C and no libraries: it runs once per start. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
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
  int n;
  if (error != 0)
    n = snprintf(message, sizeof message, "%s%s%s: %s", what, detail ? " " : "",
                 detail ? detail : "", strerror(error));
  else
    n = snprintf(message, sizeof message, "%s%s%s", what, detail ? " " : "", detail ? detail : "");
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof message) n = sizeof message - 1;
  if (status_fd >= 0) {
    ssize_t ignored = write(status_fd, message, (size_t)n);
    (void)ignored;
  } else {
    fprintf(stderr, "climits-exec: %.*s\n", n, message);
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

static void drop_privileges(const char* user, const char* group) {
  uid_t uid = getuid();
  gid_t gid = getgid();
  const char* user_name = NULL;
  unsigned long number;
  if (user != NULL) {
    errno = 0;
    struct passwd* pw = parse_number(user, &number) ? getpwuid((uid_t)number) : getpwnam(user);
    if (pw == NULL && parse_number(user, &number)) {
      uid = (uid_t)number;  /* a numeric uid need not exist in /etc/passwd */
    } else if (pw == NULL) {
      fail("unknown user", user, errno == ENOENT ? 0 : errno);
    } else {
      uid = pw->pw_uid;
      gid = pw->pw_gid;
      user_name = pw->pw_name;
    }
  }
  if (group != NULL) {
    errno = 0;
    struct group* gr = parse_number(group, &number) ? getgrgid((gid_t)number) : getgrnam(group);
    if (gr == NULL && parse_number(group, &number))
      gid = (gid_t)number;
    else if (gr == NULL)
      fail("unknown group", group, errno == ENOENT ? 0 : errno);
    else
      gid = gr->gr_gid;
  }
  if (user == NULL && group == NULL) return;
  /* Supplementary groups first, while we still may; then the gid; the uid last. */
  if (user_name != NULL) {
    if (initgroups(user_name, gid) != 0) fail("setting supplementary groups for", user_name, errno);
  } else if (setgroups(1, &gid) != 0) {
    fail("setting supplementary groups", NULL, errno);
  }
  if (setgid(gid) != 0) fail("setgid", group ? group : user, errno);
  if (user != NULL && setuid(uid) != 0) fail("setuid", user, errno);
}

int main(int argc, char** argv) {
  const char* procs[MAX_PROCS_FILES];
  int procs_count = 0;
  const char *user = NULL, *group = NULL, *dir = NULL, *umask_text = NULL, *nofile = NULL;
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
    else if (strcmp(flag, "--user") == 0)
      user = value;
    else if (strcmp(flag, "--group") == 0)
      group = value;
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
  drop_privileges(user, group);
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
  execvp(argv[i], argv + i);
  fail(argv[i], NULL, errno);
  return 127;
}
