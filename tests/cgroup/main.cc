// The cgroup integration tests: real cgroups, real processes, real OOM kills. On the host
// (cgroup v1) ctest runs the suites "cgroup-common,cgroup-v1"; inside the VM (cgroup v2)
// "cgroup-common,cgroup-v2". A suite meant for the other version fails instead of skipping.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>

#include "tests/cgroup/test_support.h"

int main(int argc, char** argv) {
  try {
    const auto& layout = climits::test::private_layout();
    std::cout << "cgroup tests on " << layout.describe() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "cannot set up a private cgroup for the tests: " << e.what() << "\n";
    return 2;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
