#pragma once
// What each control command does to the manager: the one place where requests meet the
// supervisor. Commands are rows of a table; each takes a validated request and returns the
// response object. Everything runs on the loop, between two events, so the manager is never
// seen half-way through a change.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "control/access.h"
#include "control/event_streams.h"
#include "control/protocol.h"
#include "control/stream.h"
#include "supervisor/manager.h"

namespace climits::control {

class Handler {
 public:
  // `reload` re-reads the configuration file and returns the response (the daemon's reload,
  // through reload_response()).
  Handler(supervisor::Manager& manager, std::function<Json()> reload);

  // A request line → the response line, and for `logs` and `events` the stream that follows
  // it; the Server's Respond.
  Answer respond(std::string_view line, const Peer& peer);
  // The commands answered with one line.
  Json handle(const Request& request, const Peer& peer);

 private:
  Json status(const Request& request, const Peer& peer);
  // The status response's line, for every program written without a JSON tree (status_line.h).
  std::string status_line(const Request& request, const Peer& peer);
  Json start(const Request& request, const Peer& peer);
  Json stop(const Request& request, const Peer& peer);
  Json restart(const Request& request, const Peer& peer);
  Json reload(const Request& request, const Peer& peer);
  Json version(const Request& request, const Peer& peer);
  Json signal(const Request& request, const Peer& peer);
  Json streams_only(const Request& request, const Peer& peer);
  Answer logs(const Request& request, const Peer& peer);
  Answer events(const Request& request, const Peer& peer);

  // The programs a request names, in its order ("all": every program, in file order). Any
  // unknown name makes the whole request an error that names them all.
  Result<std::vector<supervisor::ProgramRunner*>> select(const Request& request);
  // Runs `action` on every selected program, then reports their states.
  // Acts on one program; returns the other programs acted on for it (its dependencies started,
  // its dependents stopped).
  using Action = std::function<std::vector<supervisor::ProgramRunner*>(supervisor::ProgramRunner&,
                                                                       const std::string& cause)>;
  Json act(const Request& request, const Peer& peer, const Action& action);

  supervisor::Manager& manager_;
  std::function<Json()> reload_;
  EventStreams event_streams_;
};

}  // namespace climits::control
