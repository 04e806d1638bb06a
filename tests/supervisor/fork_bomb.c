// A fork bomb for the fault tests: every process, the first and each copy, forks copies of
// itself forever. When fork fails (the cgroup's pids.max), it waits `retry_ms` (argv[1],
// default 10; 0 spins) and tries again, so the limit stays under pressure without the retries
// taking every CPU of a shared test machine. SIGTERM is ignored by all of them: only killing
// the whole cgroup stops it.
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  long retry_ms = argc > 1 ? strtol(argv[1], NULL, 10) : 10;
  struct timespec pause = {retry_ms / 1000, (retry_ms % 1000) * 1000000L};
  signal(SIGTERM, SIG_IGN);
  for (;;) {
    if (fork() < 0 && retry_ms > 0) nanosleep(&pause, NULL);
  }
}
