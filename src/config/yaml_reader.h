#pragma once
// A walker over a parsed YAML document that knows only generic shapes (mappings with a fixed
// set of keys, scalars of a given type) and collects every error with its location instead
// of stopping at the first. The loader describes the configuration's sections with it; this
// is the only place besides the loader that sees yaml-cpp types.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "config/errors.h"
#include "config/model.h"

namespace climits::config {

// A value together with where it came from, so errors can point at it. For a key with no
// value (`max:`) yaml-cpp places the node at the next line; `at` is then the key's position.
struct Located {
  YAML::Node node;
  YAML::Mark at;
  std::string path;
  YAML::Mark key_at;  // where the key naming this value stands (errors about the name itself)
};

class YamlReader {
 public:
  explicit YamlReader(std::string file_name) : file_(std::move(file_name)) {}

  struct Field {
    const char* key;
    std::function<void(const Located&)> read;
  };

  // Reports an error unless `value` is a mapping; otherwise reads each key through the field
  // with that name, rejecting unknown and duplicate keys. Returns false if not a mapping.
  bool read_mapping(const Located& value, const std::vector<Field>& fields);

  // Iterates a mapping whose keys are free-form (program names, environment variables),
  // rejecting duplicate and non-scalar keys. `key_ok` reports its own error and returns false
  // to skip an entry.
  void read_entries(const Located& value, const std::string& what,
                    const std::function<void(const std::string& key, const Located&)>& read);

  std::optional<std::string> string(const Located& value, const char* example);
  std::optional<bool> boolean(const Located& value);
  std::optional<std::int64_t> integer(const Located& value, std::int64_t min, std::int64_t max);
  std::optional<double> number(const Located& value, double min, double max);
  // A size; `min_plain` is the smallest unit-less byte count accepted (smaller ones are
  // almost always a forgotten unit), and a value with a unit must be more than zero then.
  std::optional<ByteLimit> size(const Located& value, std::uint64_t min_plain);
  std::optional<Duration> duration(const Located& value);
  // One of `choices` (written as in the file), returned as its index.
  std::optional<std::size_t> choice(const Located& value, std::span<const char* const> choices,
                                    const char* what);

  void error(const YAML::Mark& at, const std::string& path, const std::string& message);
  void error(const Located& value, const std::string& message) {
    error(value.at, value.path, message);
  }

  ConfigErrors take_errors();
  bool has_errors() const { return !errors_.empty(); }

 private:
  // The scalar text, or an error naming what was expected (e.g. "a size") if the node is a
  // mapping, sequence or has no value.
  std::optional<std::string> scalar(const Located& value, const std::string& expected);

  void each_key(const Located& value, const std::string& duplicate,
                const std::function<void(const YAML::Node& key, const Located& child)>& visit,
                const std::string& kind = "");

  std::string file_;
  ConfigErrors errors_;
};

// Child location for `key` inside a mapping entry.
Located located_child(const Located& parent, const YAML::Node& key, const YAML::Node& value,
                      const std::string& key_text);

// How a node is described in "found a …" messages.
std::string describe_node(const YAML::Node& node);

// A scalar quoted for a message: control bytes escaped, long values cut.
std::string quote(const std::string& text);
// The text with control bytes written as \xNN (for messages that carry the file's bytes).
std::string printable(const std::string& text);

// Whether a scalar was written plain (not quoted, no tag): only plain scalars are numbers
// and booleans, as in YAML itself.
bool is_plain(const YAML::Node& node);

}  // namespace climits::config
