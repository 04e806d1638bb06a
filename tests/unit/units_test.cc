#include <doctest/doctest.h>

#include <csignal>

#include "config/units.h"

using namespace climits::config;

TEST_CASE("sizes: bytes, powers of 1024 and max") {
  CHECK(parse_size("512") == ByteLimit{512});
  CHECK(parse_size("64K") == ByteLimit{64ull << 10});
  CHECK(parse_size("60M") == ByteLimit{60ull << 20});
  CHECK(parse_size("60m") == ByteLimit{60ull << 20});
  CHECK(parse_size("2G") == ByteLimit{2ull << 30});
  CHECK(parse_size("1T") == ByteLimit{1ull << 40});
  CHECK(parse_size("max") == std::optional<ByteLimit>{ByteLimit{}});
  CHECK(parse_size("0") == ByteLimit{0});
}

TEST_CASE("sizes: everything else is refused") {
  for (const char* bad :
       {"", "60Q", "-1", "-5M", "1.5G", " 60M", "60M ", "60MB", "M", "Max", "0x10", "+5",
        "99999999999999999999", "9223372036854775808", "8388608T", "1e6"})
    CHECK_MESSAGE(!parse_size(bad).has_value(), bad);
  CHECK(parse_size("9223372036854775807") == ByteLimit{9223372036854775807ull});
  CHECK(parse_size("8388607T") == ByteLimit{8388607ull << 40});
}

TEST_CASE("durations") {
  CHECK(parse_duration("0") == Duration{0});
  CHECK(parse_duration("500ms") == Duration{500});
  CHECK(parse_duration("10s") == Duration{10'000});
  CHECK(parse_duration("5m") == Duration{300'000});
  CHECK(parse_duration("1h") == Duration{3'600'000});
  CHECK(parse_duration("8760h") == Duration{8760ll * 3'600'000});
  for (const char* bad : {"", "10", "1.5s", "s", "10 s", "-1s", "10S", "1d", "8761h", "0s5",
                          "99999999999999999999ms"})
    CHECK_MESSAGE(!parse_duration(bad).has_value(), bad);
}

TEST_CASE("signals: names with or without SIG, in any case, never ones that only pause") {
  CHECK(parse_signal("TERM") == SIGTERM);
  CHECK(parse_signal("SIGTERM") == SIGTERM);
  CHECK(parse_signal("sigint") == SIGINT);
  CHECK(parse_signal("KILL") == SIGKILL);
  CHECK(parse_signal("usr1") == SIGUSR1);
  for (const char* bad : {"", "FOO", "SIG", "STOP", "SIGCONT", "TSTP", "15", "SIGTERM "})
    CHECK_MESSAGE(!parse_signal(bad).has_value(), bad);
  CHECK(signal_name(SIGKILL) == "SIGKILL");
  CHECK(signal_name(SIGTERM) == "SIGTERM");
}

TEST_CASE("program names become cgroup and file names, so they are restricted") {
  for (const char* good : {"web", "a", "my-app_2.service", "..x", "x..", "A-Z"})
    CHECK_MESSAGE(is_valid_program_name(good), good);
  std::string longest(64, 'a');
  CHECK(is_valid_program_name(longest));
  for (const char* bad : {"", ".", "..", "a/b", "../x", "with space", "tab\t", "ünï", "a:b"})
    CHECK_MESSAGE(!is_valid_program_name(bad), bad);
  CHECK_FALSE(is_valid_program_name(std::string(65, 'a')));
}

TEST_CASE("umask") {
  CHECK(parse_umask("022") == mode_t{022});
  CHECK(parse_umask("0077") == mode_t{077});
  CHECK(parse_umask("0o27") == mode_t{027});
  CHECK(parse_umask("777") == mode_t{0777});
  for (const char* bad : {"", "8", "0888", "1777", "abc", "-022", "00000"})
    CHECK_MESSAGE(!parse_umask(bad).has_value(), bad);
}

TEST_CASE("durations print the way they are written") {
  CHECK(format_duration(Duration{0}) == "0s");
  CHECK(format_duration(Duration{500}) == "500ms");
  CHECK(format_duration(Duration{1500}) == "1.5s");
  CHECK(format_duration(Duration{10'000}) == "10s");
  CHECK(format_duration(Duration{120'000}) == "2m");
  CHECK(format_duration(Duration{7'200'000}) == "2h");
}

TEST_CASE("sizes and durations: leading zeros count, up to 20 digits") {
  CHECK(parse_size("0004096") == ByteLimit{4096});
  CHECK(parse_size("00000000000000000001k") == ByteLimit{1024});  // 20 digits
  CHECK_FALSE(parse_size("000000000000000000001k").has_value());  // 21
  CHECK(parse_size("1t") == ByteLimit{1ull << 40});
  CHECK(parse_size("3g") == ByteLimit{3ull << 30});
  CHECK(parse_duration("0010s") == Duration{10'000});
  CHECK(parse_duration("0ms") == Duration{0});
  CHECK(parse_duration("31536000000ms") == Duration{31'536'000'000});
  CHECK_FALSE(parse_duration("31536000001ms").has_value());
  CHECK(parse_duration("525600m") == Duration{525'600ll * 60'000});
  CHECK_FALSE(parse_duration("00").has_value());  // only the text 0 goes without a unit
}

TEST_CASE("signals: every name that can stop a program") {
  for (const char* name :
       {"HUP", "INT", "QUIT", "KILL", "USR1", "USR2", "TERM", "ABRT", "ALRM", "PWR",   "SEGV",
        "BUS", "FPE", "ILL",  "PIPE", "TRAP", "SYS",  "XCPU", "XFSZ", "PROF", "VTALRM"}) {
    CHECK_MESSAGE(parse_signal(name).has_value(), name);
    CHECK(signal_name(*parse_signal(name)) == std::string("SIG") + name);
  }
  for (const char* name : {"STOP", "TSTP", "TTIN", "TTOU", "CONT", "WINCH", "URG", "SIGSIGTERM"})
    CHECK_MESSAGE(!parse_signal(name).has_value(), name);
}
