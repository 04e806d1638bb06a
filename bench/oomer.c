/* oomer: a program for the OOM-kill -> replacement latency figure of bench/. It waits, doing
 * nothing, until it receives SIGUSR1; then it allocates and touches memory, 4 MiB at a time
 * and without pause, until the kernel OOM-kills it at its cgroup's limit. Waiting for the
 * signal lets the harness arm its own OOM event listener and take one sample at a time.
 *   oomer [MARKER]   (the argument is ignored; it makes the process easy to find) */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t go = 0;

static void on_usr1(int sig) {
  (void)sig;
  go = 1;
}

int main(void) {
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
  }
}
