/* leaky: the seed scenario's program. It allocates memory steadily and never frees it, touching
 * every page so the memory is really charged to its cgroup, until the kernel OOM-kills it.
 *   leaky [MiB-per-step] [milliseconds-between-steps]   (defaults: 4 MiB every 100 ms) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Every block is chained from here. A block nothing refers to is dead to the compiler, and
 * clang removes the malloc and the memset altogether: the program would never grow. */
static void* volatile held = NULL;

int main(int argc, char** argv) {
  long step_mib = argc > 1 ? atol(argv[1]) : 4;
  long pause_ms = argc > 2 ? atol(argv[2]) : 100;
  if (step_mib <= 0 || pause_ms < 0) {
    fprintf(stderr, "usage: leaky [MiB-per-step] [milliseconds-between-steps]\n");
    return 2;
  }
  struct timespec pause = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
  long total = 0;
  for (;;) {
    char* block = malloc((size_t)step_mib << 20);
    if (block == NULL) {
      fprintf(stderr, "leaky: malloc failed after %ld MiB\n", total);
      return 1;
    }
    memset(block, 0xA5, (size_t)step_mib << 20); /* touch it: only used pages are charged */
    *(void**)block = held;
    held = block;
    total += step_mib;
    printf("leaky: holding %ld MiB\n", total);
    fflush(stdout);
    nanosleep(&pause, NULL);
  }
}
