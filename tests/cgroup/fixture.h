#pragma once
// One backend on the private test cgroup and one libuv loop per test case.
#include <doctest/doctest.h>
#include <uv.h>

#include <memory>
#include <string>

#include "cgroup/backend.h"
#include "cgroup/placement.h"
#include "tests/cgroup/test_support.h"

namespace climits::test {

using Holds = cgroup::Backend::Holds;

struct CgroupFixture {
  uv_loop_t loop;
  std::unique_ptr<cgroup::Backend> backend;
  std::vector<std::string> created;

  CgroupFixture() {
    uv_loop_init(&loop);
    auto opened = cgroup::open_backend(private_layout(), "auto");
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().message));
    backend = std::move(*opened);
  }

  ~CgroupFixture() {
    for (const auto& name : created) (void)backend->remove(name);
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
  }

  // Creates a program cgroup with `limits` applied; removed at the end of the test.
  std::string make_program(const std::string& base, const cgroup::Limits& limits) {
    std::string name = unique_name(base);
    auto made = backend->create(name, limits);
    REQUIRE_MESSAGE(made.ok(), (made.ok() ? "" : made.error().message));
    created.push_back(name);
    auto applied = backend->apply(name, limits, *made ? Holds::kernel_defaults : Holds::anything);
    REQUIRE_MESSAGE(applied.ok(), (applied.ok() ? "" : applied.error().message));
    return name;
  }

  std::string knob(const std::string& name, const std::string& file) const {
    return backend->path_of(name) + "/" + file;
  }
};

// A hard limit with no swap on top, so that an OOM kill is certain even where swap exists
// (the VM has a zram device).
inline cgroup::Limits memory_limit(std::uint64_t max_bytes) {
  cgroup::Limits limits;
  limits.memory.max = max_bytes;
  limits.memory.swap_max = 0;
  return limits;
}

constexpr std::uint64_t MiB = 1ull << 20;

}  // namespace climits::test
