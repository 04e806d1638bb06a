#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "supervisor/output_log.h"

using climits::supervisor::LogFile;
namespace fs = std::filesystem;

namespace {

// A private folder under the temp directory, removed with everything in it.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() /
             ("climits-log-file-test-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

// Each write is max_size bytes, so every write after the first rotates.
constexpr std::uint64_t kMaxSize = 10;
const std::string kChunk(kMaxSize, 'x');

void rotate_times(LogFile& file, int times) {
  for (int i = 0; i < times; ++i) file.write(kChunk.data(), kChunk.size());
}

bool exists(const fs::path& log, int n) {
  return fs::exists(log.string() + "." + std::to_string(n));
}

}  // namespace

TEST_CASE("log file: lowering keep removes the rotated files beyond it at the next rotation") {
  TempDir dir("lower");
  fs::path log = dir.path / "out.log";
  LogFile file("p", log.string(), kMaxSize, 5);
  rotate_times(file, 6);  // the first write fills the file, the next five rotate
  for (int n = 1; n <= 5; ++n) REQUIRE(exists(log, n));
  CHECK_FALSE(exists(log, 6));

  file.set_rotation(kMaxSize, 2);
  CHECK(exists(log, 5));  // nothing happens before the next rotation
  rotate_times(file, 1);
  CHECK(fs::exists(log));
  CHECK(exists(log, 1));
  CHECK(exists(log, 2));
  CHECK_FALSE(exists(log, 3));
  CHECK_FALSE(exists(log, 4));
  CHECK_FALSE(exists(log, 5));
}

TEST_CASE("log file: keep 0 after a higher keep removes every rotated file") {
  TempDir dir("zero");
  fs::path log = dir.path / "out.log";
  LogFile file("p", log.string(), kMaxSize, 3);
  rotate_times(file, 4);
  for (int n = 1; n <= 3; ++n) REQUIRE(exists(log, n));

  file.set_rotation(kMaxSize, 0);
  rotate_times(file, 1);
  CHECK(fs::exists(log));
  CHECK(fs::file_size(log) == kMaxSize);
  for (int n = 1; n <= 3; ++n) CHECK_FALSE(exists(log, n));
}

TEST_CASE("log file: the removal stops at the first missing file") {
  TempDir dir("gap");
  fs::path log = dir.path / "out.log";
  LogFile file("p", log.string(), kMaxSize, 2);
  rotate_times(file, 3);
  REQUIRE(exists(log, 2));
  // Not one of ours: beyond a missing NAME.3, so it stays.
  { std::ofstream(log.string() + ".4") << "other"; }
  rotate_times(file, 1);
  CHECK(exists(log, 1));
  CHECK(exists(log, 2));
  CHECK(exists(log, 4));
}
