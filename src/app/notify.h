#pragma once
// The sd_notify protocol without libsystemd: one datagram to $NOTIFY_SOCKET (a path, or an
// abstract socket when it starts with '@'). Without the variable every call does nothing.
#include <string>

namespace climits::app {

class ServiceNotifier {
 public:
  // Reads NOTIFY_SOCKET once and removes it from the environment, so that programs never
  // inherit it.
  ServiceNotifier();
  ~ServiceNotifier();
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  bool enabled() const { return fd_ >= 0; }
  // "READY=1", "RELOADING=1", "STOPPING=1", "STATUS=…"; several may be joined with '\n'.
  void send(const std::string& state);

 private:
  std::string address_;
  int fd_ = -1;
};

}  // namespace climits::app
