/* oomer: the program of bench/'s kill -> replacement and OOM kill -> replacement figures.
 * First it writes the time it started (CLOCK_MONOTONIC, nanoseconds) into STAMP_DIR/<pid>, so
 * that the harness learns when a replacement runs without polling the cgroup (polling at
 * 0.1 ms took a core of a 2-core machine and showed in the tails). Then it waits, doing
 * nothing, until it receives SIGUSR1 (SIGKILL ends it for the kill figure); on SIGUSR1 it
 * allocates and touches memory, 4 MiB at a time and without pause, until the kernel OOM-kills
 * it at its cgroup's limit. Waiting for the signal lets the harness arm its own OOM event
 * listener and take one sample at a time.
 *   oomer [MARKER] [STAMP_DIR]   (MARKER is ignored; it makes the process easy to find) */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t go = 0;
/* Every block is chained from here: clang drops a malloc and memset whose block nothing
 * refers to. */
static void* volatile held = NULL;

static void on_usr1(int sig) {
  (void)sig;
  go = 1;
}

static void stamp(const char* dir) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  char path[4096], text[32], partial[4120];
  snprintf(path, sizeof path, "%s/%d", dir, (int)getpid());
  snprintf(partial, sizeof partial, "%s.part", path);
  int length = snprintf(text, sizeof text, "%lld\n",
                        (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
  int fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  if (write(fd, text, (size_t)length) == length) rename(partial, path);  // seen whole or not at all
  close(fd);
}

int main(int argc, char** argv) {
  if (argc > 2) stamp(argv[2]);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigprocmask(SIG_BLOCK, &block, &old);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_usr1;
  sigaction(SIGUSR1, &action, NULL);
  while (!go) sigsuspend(&old);
  for (;;) {
    size_t size = (size_t)4 << 20;
    char* block_memory = malloc(size);
    if (block_memory == NULL) return 1;
    memset(block_memory, 0x5A, size);
    *(void**)block_memory = held;
    held = block_memory;
  }
}
