#include "control/status_reader.h"

#include <array>
#include <string>

namespace climits::control {

namespace {

// The fields status_row() reads; the others (cgroup, limits_pending, …) are skipped.
constexpr std::array<std::string_view, 10> kRowFields = {"name",
                                                         "state",
                                                         "pid",
                                                         "uptime_seconds",
                                                         "memory_bytes",
                                                         "memory_peak_bytes",
                                                         "memory_max_bytes",
                                                         "restarts",
                                                         "oom_kills",
                                                         "last_exit"};

// Where the reader is: in the response object (1), its "programs" array (2), a program (3),
// a program's "last_exit" object or a list of scalars the row does not show (4, e.g.
// waiting_for). Anything nested elsewhere is a shape it does not expect, and ends the reading
// (false from a callback): the caller falls back to the tree.
class RowReader final : public nlohmann::json_sax<Json> {
 public:
  // `programs_at_most`: room for the rows at once. Grown by doubling, they were copied into
  // fresh memory again and again: 12 % of a table of 4900 programs.
  RowReader(std::chrono::system_clock::time_point now, std::size_t programs_at_most) : now_(now) {
    rows_.reserve(programs_at_most);
  }

  bool ok() const { return ok_ && programs_seen_; }
  std::vector<StatusRow>& rows() { return rows_; }

  bool null() override { return scalar(Json(nullptr)); }
  bool boolean(bool value) override {
    bool taken = scalar(Json(value));
    if (depth_ == 1 && key_ == "ok") ok_ = value;
    return taken;
  }
  bool number_integer(number_integer_t value) override { return scalar(Json(value)); }
  bool number_unsigned(number_unsigned_t value) override { return scalar(Json(value)); }
  bool number_float(number_float_t value, const string_t&) override { return scalar(Json(value)); }
  bool string(string_t& value) override { return scalar(Json(std::move(value))); }
  bool binary(binary_t&) override { return false; }

  bool start_object(std::size_t) override {
    if (depth_ == 0) return ++depth_, true;
    if (depth_ == 2) {  // a program: the same object each time, its memory reused
      if (program_.is_object())
        program_.clear();
      else
        program_ = Json::object();
      return ++depth_, true;
    }
    if (depth_ == 3 && key_ == "last_exit") {
      last_exit_ = Json::object();
      return ++depth_, true;
    }
    return false;
  }
  bool end_object() override {
    if (depth_ == 4) {
      program_["last_exit"] = std::move(last_exit_);
    } else if (depth_ == 3) {
      rows_.push_back(status_row(program_, now_));
    }
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 3) {
      // A list where the row wants a value is left to the tree (which shows it as "?").
      for (auto field : kRowFields)
        if (key_ == field) return false;
      skipping_list_ = true;
      return ++depth_, true;
    }
    if (depth_ != 1 || key_ != "programs" || programs_seen_) return false;
    programs_seen_ = true;
    return ++depth_, true;
  }
  bool end_array() override {
    skipping_list_ = false;
    return --depth_, true;
  }
  bool key(string_t& value) override {
    key_ = std::move(value);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool scalar(Json value) {
    switch (depth_) {
      case 1:
        if (key_ == "ok") ok_ = false;  // not a boolean (boolean() sets it after this)
        return key_ != "programs";      // "programs": null is not a list of programs
      case 3:
        for (auto field : kRowFields)
          if (key_ == field) {
            program_[key_] = std::move(value);
            break;
          }
        return true;
      case 4:
        if (!skipping_list_) last_exit_[key_] = std::move(value);
        return true;
      default:
        return false;  // a program that is not an object
    }
  }

  std::chrono::system_clock::time_point now_;
  int depth_ = 0;
  std::string key_;
  bool ok_ = false;
  bool programs_seen_ = false;
  bool skipping_list_ = false;  // inside a program's list (depth 4)
  Json program_;
  Json last_exit_;
  std::vector<StatusRow> rows_;
};

}  // namespace

std::optional<std::vector<StatusRow>> read_status_rows(std::string_view line,
                                                       std::chrono::system_clock::time_point now) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // A program takes more than 128 bytes of the line (its cgroup path alone most of that);
  // reserved rows that stay unused are never touched.
  RowReader reader(now, line.size() / 128 + 1);
  if (!Json::sax_parse(line.begin(), line.end(), &reader) || !reader.ok()) return std::nullopt;
  return std::move(reader.rows());
}

}  // namespace climits::control
