// cpu: and io: (docs/configuration.md): every value read into the model, and every bad one
// refused at file:line:col with its field.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <string>

#include "config/loader.h"
#include "supervisor/reload_plan.h"
#include "tests/unit/loader_support.h"

using namespace climits::config;
using namespace climits::config::test;

namespace {

// A whole disk of this machine (not a partition), with its numbers: the device check reads
// the real /dev.
struct Disk {
  std::string path;
  unsigned major = 0;
  unsigned minor = 0;
};

Disk some_disk() {
  for (const char* path : {"/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/loop0", "/dev/zram0"}) {
    struct stat info {};
    if (::stat(path, &info) != 0 || !S_ISBLK(info.st_mode)) continue;
    Disk disk{path, major(info.st_rdev), minor(info.st_rdev)};
    std::string numbers = std::to_string(disk.major) + ":" + std::to_string(disk.minor);
    if (std::filesystem::exists("/sys/dev/block/" + numbers + "/partition")) continue;
    return disk;
  }
  FAIL("no whole block device on this machine to test io.max with");
  return {};
}

}  // namespace

TEST_CASE("cpu: max as a share of one CPU, and weight") {
  auto plain = program_with("");
  const Program& unset = only_program(plain);
  CHECK(!unset.cpu.max_quota_micros.has_value());
  CHECK(!unset.cpu.weight.has_value());
  CHECK(!unset.cpu.set());
  auto quota = [](const std::string& max) {
    return only_program(program_with("    cpu: {max: " + max + "}\n")).cpu.max_quota_micros;
  };
  CHECK(quota("150%") == std::optional<std::uint64_t>{150000});
  CHECK(quota("50%") == std::optional<std::uint64_t>{50000});
  CHECK(quota("1%") == std::optional<std::uint64_t>{1000});
  CHECK(quota("12.5%") == std::optional<std::uint64_t>{12500});
  CHECK(quota("100000%") == std::optional<std::uint64_t>{100000000});
  CHECK(quota("max") == std::nullopt);
  auto weight = program_with("    cpu: {weight: 250}\n");
  const Program& weighted = only_program(weight);
  CHECK(weighted.cpu.weight == 250);
  CHECK(weighted.cpu.set());
  CHECK(only_program(program_with("    cpu: {weight: 1}\n")).cpu.weight == 1);
  CHECK(only_program(program_with("    cpu: {weight: 10000}\n")).cpu.weight == 10000);
}

TEST_CASE("io: weight and max, devices resolved to their numbers") {
  Disk disk = some_disk();
  auto full =
      program_with("    io:\n      weight: 300\n      max:\n        - {device: " + disk.path +
                   ", read_bps: 50M, write_bps: 20M, read_iops: 1000, write_iops: 500}\n");
  const Program& p = only_program(full);
  CHECK(p.io.weight == 300);
  REQUIRE(p.io.max.size() == 1);
  const IoDeviceMax& d = p.io.max[0];
  CHECK(d.device == disk.path);
  CHECK(d.major == disk.major);
  CHECK(d.minor == disk.minor);
  CHECK(d.read_bps == ByteLimit{50ull << 20});
  CHECK(d.write_bps == ByteLimit{20ull << 20});
  CHECK(d.read_iops == std::optional<std::uint64_t>{1000});
  CHECK(d.write_iops == std::optional<std::uint64_t>{500});
  // Only what is given is throttled; max is no throttle.
  auto partial = program_with("    io:\n      max: [{device: " + disk.path +
                              ", write_iops: 10, read_bps: max}]\n");
  const Program& one = only_program(partial);
  REQUIRE(one.io.max.size() == 1);
  CHECK(!one.io.max[0].read_bps.has_value());
  CHECK(!one.io.max[0].write_bps.has_value());
  CHECK(!one.io.max[0].read_iops.has_value());
  CHECK(one.io.max[0].write_iops == std::optional<std::uint64_t>{10});
  CHECK(one.io.set());
  // The cgroup layer's words: the same numbers.
  auto limits = climits::supervisor::desired_limits(p);
  REQUIRE(limits.io.devices.size() == 1);
  CHECK(limits.io.devices[0].major == disk.major);
  CHECK(limits.io.devices[0].read_bps == ByteLimit{50ull << 20});
  CHECK(limits.io.weight == 300);
}

TEST_CASE("cpu and io are inherited from defaults, a program's io.max replaces the list") {
  Disk disk = some_disk();
  auto result = load(
      "defaults:\n  cpu: {max: 50%, weight: 200}\n  io:\n    weight: 50\n"
      "    max: [{device: " +
      disk.path +
      ", read_iops: 10}]\nprograms:\n  a: {command: x}\n"
      "  b: {command: x, cpu: {weight: 20}, io: {max: []}}\n");
  const Config& config = accepted(result);
  REQUIRE(config.programs.size() == 2);
  const Program& a = config.programs[0];
  const Program& b = config.programs[1];
  CHECK(a.cpu.max_quota_micros == std::optional<std::uint64_t>{50000});
  CHECK(a.cpu.weight == 200);
  CHECK(a.io.max.size() == 1);
  CHECK(b.cpu.max_quota_micros == std::optional<std::uint64_t>{50000});
  CHECK(b.cpu.weight == 20);
  CHECK(b.io.weight == 50);
  CHECK(b.io.max.empty());
}

TEST_CASE("errors: cpu") {
  CHECK(refused("programs:\n  p: {command: x, cpu: {max: 150}}\n") ==
        "t.yaml:2:30: programs.p.cpu.max: \"150\" is not a CPU share (use a share of one CPU "
        "from 1% to 100000%, such as 150%, or max)\n");
  CHECK(refused("programs:\n  p: {command: x, cpu: {max: 1.5}}\n") ==
        "t.yaml:2:30: programs.p.cpu.max: \"1.5\" is not a CPU share (use a share of one CPU "
        "from 1% to 100000%, such as 150%, or max)\n");
  CHECK(refused("programs:\n  p: {command: x, cpu: {max: -5%}}\n") ==
        "t.yaml:2:30: programs.p.cpu.max: \"-5%\" is not a CPU share (use a share of one CPU "
        "from 1% to 100000%, such as 150%, or max)\n");
  CHECK(refused("programs:\n  p: {command: x, cpu: {max: 0%}}\n") ==
        "t.yaml:2:30: programs.p.cpu.max: 0% is out of range (use a share of one CPU from 1% to "
        "100000%, such as 150%)\n");
  CHECK(refused("programs:\n  p: {command: x, cpu: {max: 0.5%}}\n") ==
        "t.yaml:2:30: programs.p.cpu.max: 0.5% is out of range (use a share of one CPU from 1% "
        "to 100000%, such as 150%)\n");
  CHECK(refused("programs:\n  p: {command: x, cpu: {max: 100001%}}\n") ==
        "t.yaml:2:30: programs.p.cpu.max: 100001% is out of range (use a share of one CPU from "
        "1% to 100000%, such as 150%)\n");
  CHECK(refused("programs:\n  p: {command: x, cpu: {max: 12.3456%}}\n") ==
        "t.yaml:2:30: programs.p.cpu.max: \"12.3456%\" has more than three decimals (the kernel "
        "counts CPU time in microseconds per 100 ms: use e.g. 12.5%)\n");
  CHECK(refused("programs:\n  p: {command: x, cpu: {max: [1]}}\n") ==
        "t.yaml:2:30: programs.p.cpu.max: expected a share of one CPU from 1% to 100000%, such "
        "as 150%, or max, found a list\n");
  CHECK(refused("programs:\n  p:\n    command: x\n    cpu:\n      max:\n") ==
        "t.yaml:5:7: programs.p.cpu.max: has no value (use a share of one CPU from 1% to "
        "100000%, such as 150%, or max)\n");
  CHECK(refused("programs:\n  p: {command: x, cpu: {weight: 0}}\n") ==
        "t.yaml:2:33: programs.p.cpu.weight: 0 is out of range (use a whole number from 1 to "
        "10000)\n");
  CHECK(refused("programs:\n  p: {command: x, cpu: {weight: 10001}}\n") ==
        "t.yaml:2:33: programs.p.cpu.weight: 10001 is out of range (use a whole number from 1 "
        "to 10000)\n");
  CHECK(refused("programs:\n  p: {command: x, cpu: {quota: 5}}\n") ==
        "t.yaml:2:25: programs.p.cpu.quota: unknown key (expected one of: max, weight)\n");
  CHECK(refused("programs:\n  p: {command: x, cpu: 50%}\n") ==
        "t.yaml:2:24: programs.p.cpu: expected a mapping with keys such as max, weight, found "
        "\"50%\"\n");
}

TEST_CASE("errors: io") {
  Disk disk = some_disk();
  CHECK(refused("programs:\n  p: {command: x, io: {weight: 0}}\n") ==
        "t.yaml:2:32: programs.p.io.weight: 0 is out of range (use a whole number from 1 to "
        "10000)\n");
  CHECK(refused("programs:\n  p: {command: x, io: {max: {device: /dev/vda}}}\n") ==
        "t.yaml:2:29: programs.p.io.max: expected a list of {device: /dev/vda, read_bps: 50M, "
        "...}, found a mapping\n");
  // The device: not a block device, missing, relative, absent; the field is named.
  CHECK(refused("programs:\n  p:\n    command: x\n    io:\n      max:\n"
                "        - {device: /dev/null, read_bps: 1M}\n") ==
        "t.yaml:6:20: programs.p.io.max[0].device: /dev/null is not a block device (a "
        "character device); name a disk such as /dev/vda\n");
  CHECK(refused("programs:\n  p:\n    command: x\n    io:\n      max:\n"
                "        - {device: /tmp, read_bps: 1M}\n") ==
        "t.yaml:6:20: programs.p.io.max[0].device: /tmp is not a block device (a directory); "
        "name a disk such as /dev/vda\n");
  CHECK(refused("programs:\n  p:\n    command: x\n    io:\n      max:\n"
                "        - {device: /dev/no-such-disk, read_bps: 1M}\n") ==
        "t.yaml:6:20: programs.p.io.max[0].device: /dev/no-such-disk: No such file or directory "
        "(name a block device such as /dev/vda)\n");
  CHECK(refused("programs:\n  p:\n    command: x\n    io:\n      max:\n"
                "        - {device: vda, read_bps: 1M}\n") ==
        "t.yaml:6:20: programs.p.io.max[0].device: \"vda\" is not an absolute path (name a block "
        "device such as /dev/vda)\n");
  CHECK(refused("programs:\n  p:\n    command: x\n    io:\n      max:\n"
                "        - {read_bps: 1M}\n") ==
        "t.yaml:6:11: programs.p.io.max[0]: missing required key \"device\" (the block device, "
        "such as /dev/vda)\n");
  CHECK(refused("programs:\n  p:\n    command: x\n    io:\n      max:\n        - {device: " +
                disk.path + "}\n") == "t.yaml:6:11: programs.p.io.max[0]: names no limit for " +
                                          disk.path +
                                          " (give read_bps, write_bps, read_iops or write_iops)\n");
  // The values: sizes and counts.
  CHECK(refused("programs:\n  p:\n    command: x\n    io:\n      max:\n        - {device: " +
                disk.path + ", read_bps: fast}\n")
            .find("programs.p.io.max[0].read_bps: \"fast\" is not a size (use e.g. 512M)") !=
        std::string::npos);
  CHECK(refused("programs:\n  p:\n    command: x\n    io:\n      max:\n        - {device: " +
                disk.path + ", write_bps: 0}\n")
            .find("programs.p.io.max[0].write_bps: \"0\" is zero") != std::string::npos);
  CHECK(refused("programs:\n  p:\n    command: x\n    io:\n      max:\n        - {device: " +
                disk.path + ", read_iops: 0}\n")
            .find("programs.p.io.max[0].read_iops: 0 is out of range (use a whole number from 1 "
                  "to 9223372036854775807)") != std::string::npos);
  CHECK(refused("programs:\n  p:\n    command: x\n    io:\n      max:\n        - {device: " +
                disk.path + ", write_iops: many}\n")
            .find("programs.p.io.max[0].write_iops: \"many\" is not a whole number") !=
        std::string::npos);
  CHECK(refused("programs:\n  p:\n    command: x\n    io:\n      max:\n        - {device: " +
                disk.path + ", read_iops: 1, speed: 2}\n")
            .find("programs.p.io.max[0].speed: unknown key (expected one of: device, read_bps, "
                  "write_bps, read_iops, write_iops)") != std::string::npos);
  // One entry per device.
  std::string twice = refused(
      "programs:\n  p:\n    command: x\n    io:\n      max:\n"
      "        - {device: " +
      disk.path + ", read_iops: 1}\n        - {device: " + disk.path + ", write_iops: 2}\n");
  CHECK(twice.find("t.yaml:7:20: programs.p.io.max[1].device: \"" + disk.path +
                   "\" is the same device as \"" + disk.path + "\"") != std::string::npos);
}

TEST_CASE("memory.pressure: a threshold of a window, both required") {
  auto result = program_with("    memory: {max: 64M, pressure: {threshold: 20%, window: 10s}}\n");
  const Program& p = only_program(result);
  REQUIRE(p.memory.pressure.has_value());
  CHECK(p.memory.pressure->threshold_percent == 20);
  CHECK(p.memory.pressure->window == Duration{10000});
  // The cgroup layer's trigger: microseconds of stall in a window.
  auto trigger = climits::supervisor::desired_limits(p).memory.pressure;
  REQUIRE(trigger.has_value());
  CHECK(trigger->stall_micros == 2000000);
  CHECK(trigger->window_micros == 10000000);
  auto bounds = program_with("    memory: {pressure: {threshold: 100%, window: 500ms}}\n");
  CHECK(only_program(bounds).memory.pressure->threshold_percent == 100);
  CHECK(only_program(bounds).memory.pressure->window == Duration{500});
  auto none = program_with("");
  CHECK_FALSE(only_program(none).memory.pressure.has_value());
}

TEST_CASE("errors: memory.pressure") {
  CHECK(
      refused("programs:\n  p: {command: x, memory: {pressure: {threshold: 0%, window: 1s}}}\n") ==
      "t.yaml:2:50: programs.p.memory.pressure.threshold: 0% is out of range (use a share from "
      "1% to 100%, such as 20%)\n");
  CHECK(refused(
            "programs:\n  p: {command: x, memory: {pressure: {threshold: 101%, window: 1s}}}\n") ==
        "t.yaml:2:50: programs.p.memory.pressure.threshold: 101% is out of range (use a share "
        "from 1% to 100%, such as 20%)\n");
  CHECK(
      refused("programs:\n  p: {command: x, memory: {pressure: {threshold: 20, window: 1s}}}\n") ==
      "t.yaml:2:50: programs.p.memory.pressure.threshold: \"20\" is not a share (use a share "
      "from 1% to 100%, such as 20%)\n");
  CHECK(refused(
            "programs:\n  p: {command: x, memory: {pressure: {threshold: 20%, window: 11s}}}\n") ==
        "t.yaml:2:63: programs.p.memory.pressure.window: 11s is out of range (the kernel takes a "
        "window from 500ms to 10s)\n");
  CHECK(
      refused(
          "programs:\n  p: {command: x, memory: {pressure: {threshold: 20%, window: 499ms}}}\n") ==
      "t.yaml:2:63: programs.p.memory.pressure.window: 499ms is out of range (the kernel takes a "
      "window from 500ms to 10s)\n");
  CHECK(refused("programs:\n  p: {command: x, memory: {pressure: {threshold: 20%}}}\n") ==
        "t.yaml:2:38: programs.p.memory.pressure: missing required key \"window\" (use e.g. "
        "{threshold: 20%, window: 10s})\n");
  CHECK(refused("programs:\n  p: {command: x, memory: {pressure: {window: 2s}}}\n") ==
        "t.yaml:2:38: programs.p.memory.pressure: missing required key \"threshold\" (use e.g. "
        "{threshold: 20%, window: 10s})\n");
  CHECK(refused("programs:\n  p: {command: x, memory: {pressure: 20%}}\n") ==
        "t.yaml:2:38: programs.p.memory.pressure: expected a mapping with keys such as threshold, "
        "window, found \"20%\"\n");
}
