/* writer: the program the follow bench runs. Writes numbered lines of about 100 bytes to
 * stdout at a steady rate, in 10 ms slices, until killed.
 *   writer [bytes-per-second]   (default 10 MB/s) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  long rate = argc > 1 ? atol(argv[1]) : 10L * 1000 * 1000;
  if (rate <= 0) {
    fprintf(stderr, "usage: writer [bytes-per-second]\n");
    return 2;
  }
  long per_slice = rate / 100;
  static char slice[1 << 20];
  if (per_slice > (long)sizeof slice - 200) per_slice = sizeof slice - 200;
  unsigned long long number = 0;
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  for (;;) {
    long used = 0;
    while (used < per_slice)
      used += snprintf(slice + used, sizeof slice - used,
                       "line %llu of the follow bench: "
                       "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuv\n",
                       ++number);
    for (long done = 0; done < used;) {
      ssize_t n = write(1, slice + done, (size_t)(used - done));
      if (n <= 0) return 1;
      done += n;
    }
    next.tv_nsec += 10 * 1000 * 1000;
    if (next.tv_nsec >= 1000000000L) {
      next.tv_nsec -= 1000000000L;
      next.tv_sec += 1;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
  }
}
