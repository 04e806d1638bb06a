#include "control/stream_text.h"

#include "util/text.h"

namespace climits::control {

namespace {

std::string text_field(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "?";
}

std::string number_field(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number_unsigned() ? std::to_string(it->get<std::uint64_t>())
                                                        : "?";
}

}  // namespace

std::string event_text(const Json& event) {
  std::string kind = text_field(event, "event");
  std::string line = text_field(event, "time") + " ";
  if (kind == "state")
    return line + text_field(event, "name") + " " + text_field(event, "from") + " -> " +
           text_field(event, "to") + " (" + text_field(event, "cause") + ")";
  if (kind == "oom") {
    std::string kills = number_field(event, "kills");
    return line + text_field(event, "name") + " oom-killed " + kills +
           (kills == "1" ? " process (" : " processes (") + number_field(event, "total") +
           " in all)";
  }
  if (kind == "pressure")
    return line + text_field(event, "name") + " memory pressure (" + number_field(event, "total") +
           " in all)";
  if (kind == "reload") {
    if (!event.contains("summary")) return line + "reload refused: " + text_field(event, "error");
    line += "reload: " + text_field(event, "summary");
    if (auto failed = event.find("failed"); failed != event.end() && failed->is_array())
      for (const auto& failure : *failed)
        line += "; failed: " + text_field(failure, "name") + ": " + text_field(failure, "error");
    return line;
  }
  // A kind from a newer manager: what it says, as it says it.
  Json rest = event;
  rest.erase("event");
  rest.erase("time");
  std::string name = rest.contains("name") ? text_field(rest, "name") + " " : "";
  rest.erase("name");
  return line + name + kind + " " + to_line(rest);
}

std::string log_line_text(const Json& line, bool prefixed) {
  std::string text = text_field(line, "line");
  return prefixed ? text_field(line, "name") + " | " + text : text;
}

std::string skipped_text(const Json& marker) {
  const Json& skipped = marker.contains("skipped") ? marker["skipped"] : marker;
  std::string lines = number_field(skipped, "lines");
  std::string bytes = "?";
  if (auto it = skipped.find("bytes"); it != skipped.end() && it->is_number_unsigned())
    bytes = format_bytes(it->get<std::uint64_t>());
  return "skipped " + lines + (lines == "1" ? " line (" : " lines (") + bytes +
         " of output): this reader fell behind";
}

}  // namespace climits::control
