#include "control/status_detail.h"

#include "config/units.h"

namespace climits::control {

namespace {

Json optional_number(const std::optional<std::uint64_t>& value) {
  return value ? Json(*value) : Json(nullptr);
}

// One object per device: {"device": "254:0", "read_bps": 52428800, "write_iops": null, …}.
Json io_max_json(const std::vector<cgroup::IoDeviceLimits>& devices) {
  Json list = Json::array();
  for (const auto& device : devices)
    list.push_back(Json{
        {"device", std::to_string(device.major) + ":" + std::to_string(device.minor)},
        {"read_bps", optional_number(device.read_bps)},
        {"write_bps", optional_number(device.write_bps)},
        {"read_iops", optional_number(device.read_iops)},
        {"write_iops", optional_number(device.write_iops)},
    });
  return list;
}

// Named as in the status object (memory_max_bytes) and the configuration (pids_max).
Json limits_json(const cgroup::Limits& limits) {
  return Json{
      {"memory_max_bytes", optional_number(limits.memory.max)},
      {"memory_high_bytes", optional_number(limits.memory.high)},
      {"memory_swap_max_bytes", optional_number(limits.memory.swap_max)},
      {"memory_swappiness",
       limits.memory.swappiness ? Json(*limits.memory.swappiness) : Json(nullptr)},
      {"memory_oom_group", limits.memory.oom_group},
      {"pids_max", optional_number(limits.pids_max)},
      {"cpu_max_percent", limits.cpu.quota_micros
                              ? Json(static_cast<double>(*limits.cpu.quota_micros) / 1000.0)
                              : Json(nullptr)},
      {"cpu_weight", limits.cpu.weight ? Json(*limits.cpu.weight) : Json(nullptr)},
      {"io_weight", limits.io.weight ? Json(*limits.io.weight) : Json(nullptr)},
      {"io_max", io_max_json(limits.io.devices)},
  };
}

Json output_json(const config::OutputSettings& output) {
  bool file = output.target == config::OutputTarget::file;
  return Json{
      {"target", config::output_target_name(output.target)},
      {"path", file ? Json(output.path) : Json(nullptr)},
      {"max_size_bytes", file ? Json(output.max_size) : Json(nullptr)},
      {"keep", file ? Json(output.keep) : Json(nullptr)},
  };
}

}  // namespace

Json detail_json(const supervisor::ProgramDetail& detail) {
  Json program = status_json(detail.status);
  program["limits"] = Json{
      {"desired", limits_json(detail.desired_limits)},
      {"applied", detail.applied_limits ? limits_json(*detail.applied_limits) : Json(nullptr)},
  };
  program["output"] = Json{{"stdout", output_json(detail.stdout_output)},
                           {"stderr", output_json(detail.stderr_output)}};
  Json history = Json::array();
  for (const auto& record : detail.history) {
    Json exit = exit_json(record.exit);
    exit["run_seconds"] = static_cast<double>(record.run_length.count()) / 1000.0;
    exit["pid"] = record.pid > 0 ? Json(record.pid) : Json(nullptr);
    history.push_back(std::move(exit));
  }
  program["history"] = std::move(history);
  return program;
}

}  // namespace climits::control
