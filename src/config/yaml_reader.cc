#include "config/yaml_reader.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "config/units.h"
#include "util/text.h"

namespace climits::config {

namespace {
// Control bytes as \xNN: an error stays one printable line whatever the file holds.
void append_printable(std::string& out, unsigned char c) {
  if (c < 0x20 || c == 0x7f) {
    static const char kHex[] = "0123456789abcdef";
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
  } else {
    out += static_cast<char>(c);
  }
}
}  // namespace

std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char c : text) append_printable(out, c);
  return out;
}

// Quotes a scalar for a message; binary garbage and long values stay readable and bounded.
std::string quote(const std::string& text) {
  std::string out = "\"";
  std::size_t shown = 0;
  for (unsigned char c : text) {
    bool continuation = (c & 0xc0) == 0x80;  // of a UTF-8 character: shown with its start
    if (!continuation && shown++ == 60) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      append_printable(out, c);
    }
  }
  return out + "\"";
}

bool is_plain(const YAML::Node& node) {
  return node.Tag() == "?";
}

namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string unknown_key_message(const std::string& key,
                                const std::vector<YamlReader::Field>& fields) {
  if (key == "<<")
    return "YAML merge keys (<<) are not supported; put shared settings in the defaults: section";
  const char* best = nullptr;
  std::size_t best_distance = 3;  // suggest only near misses
  for (const auto& field : fields) {
    std::size_t distance = edit_distance(key, field.key);
    if (distance < best_distance) {
      best_distance = distance;
      best = field.key;
    }
  }
  if (best != nullptr) return std::string("unknown key (did you mean \"") + best + "\"?)";
  std::string list;
  for (const auto& field : fields) list += (list.empty() ? "" : ", ") + std::string(field.key);
  return "unknown key (expected one of: " + list + ")";
}

// A key as a step of a dotted path: quoted and escaped when empty or when it holds control
// characters ("a\nb": 1), so that an error stays one line of "FILE:LINE:COL: path: message".
std::string child_path(const std::string& parent, const std::string& key) {
  bool plain = !key.empty() && std::none_of(key.begin(), key.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  std::string step = plain ? key : quote(key);
  return parent.empty() ? step : parent + "." + step;
}

}  // namespace

std::string describe_node(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return quote(node.Scalar());
    default:
      return "nothing";
  }
}

Located located_child(const Located& parent, const YAML::Node& key, const YAML::Node& value,
                      const std::string& key_text) {
  YAML::Mark at = value.IsNull() ? key.Mark() : value.Mark();
  return Located{value, at, child_path(parent.path, key_text), key.Mark()};
}

void YamlReader::error(const YAML::Mark& at, const std::string& path, const std::string& message) {
  // Errors about the document's own keys (a non-scalar or empty key at the top) have no path
  // of their own: name the level, as the loader does, so the line keeps its shape.
  errors_.push_back(
      ConfigError{file_, at.line + 1, at.column + 1, path.empty() ? "(top level)" : path, message});
}

ConfigErrors YamlReader::take_errors() {
  return std::move(errors_);
}

bool YamlReader::read_mapping(const Located& value, const std::vector<Field>& fields) {
  if (!value.node.IsMap()) {
    std::string keys;
    for (const auto& field : fields) keys += (keys.empty() ? "" : ", ") + std::string(field.key);
    error(value,
          "expected a mapping with keys such as " + keys + ", found " + describe_node(value.node));
    return false;
  }
  each_key(value, "duplicate key", [&](const YAML::Node& key, const Located& child) {
    const Field* field = nullptr;
    for (const auto& candidate : fields)
      if (key.Scalar() == candidate.key) field = &candidate;
    if (field == nullptr)
      error(key.Mark(), child.path, unknown_key_message(key.Scalar(), fields));
    else
      field->read(child);
  });
  return true;
}

void YamlReader::read_entries(
    const Located& value, const std::string& what,
    const std::function<void(const std::string& key, const Located&)>& read) {
  if (!value.node.IsMap()) {
    error(value, "expected a mapping of " + what + ", found " + describe_node(value.node));
    return;
  }
  std::string singular = what.substr(0, what.size() - 1);
  each_key(
      value, "", [&](const YAML::Node& key, const Located& child) { read(key.Scalar(), child); },
      singular);
}

// Visits each entry of a mapping once: non-scalar keys and repeated keys are errors (a
// repeated key is reported as "<duplicate> (first given at line N)", or with the entry's kind
// and name when `kind` is given: duplicate program "web").
void YamlReader::each_key(const Located& value, const std::string& duplicate,
                          const std::function<void(const YAML::Node&, const Located&)>& visit,
                          const std::string& kind) {
  std::map<std::string, int> first_line;
  for (auto it = value.node.begin(); it != value.node.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: it-> yields a temporary proxy
    if (!key.IsScalar()) {
      error(key.Mark(), value.path, "keys must be plain names, found " + describe_node(key));
      continue;
    }
    Located child = located_child(value, key, it->second, key.Scalar());
    auto [seen, inserted] = first_line.emplace(key.Scalar(), key.Mark().line + 1);
    if (!inserted) {
      std::string what = kind.empty() ? duplicate : "duplicate " + kind + " " + quote(key.Scalar());
      error(key.Mark(), child.path,
            what + " (first given at line " + std::to_string(seen->second) + ")");
      continue;
    }
    visit(key, child);
  }
}

std::optional<std::string> YamlReader::scalar(const Located& value, const std::string& expected) {
  if (value.node.IsScalar()) return value.node.Scalar();
  if (value.node.IsNull()) {
    error(value, "has no value (expected " + expected + ")");
  } else {
    error(value, "expected " + expected + ", found " + describe_node(value.node));
  }
  return std::nullopt;
}

std::optional<std::string> YamlReader::string(const Located& value, const char* example) {
  auto text = scalar(value, std::string("a string such as ") + example);
  if (!text) return std::nullopt;
  if (text->empty()) {
    error(value, std::string("is empty (use e.g. ") + example + ")");
    return std::nullopt;
  }
  if (text->find('\0') != std::string::npos) {
    error(value, "contains a NUL byte");
    return std::nullopt;
  }
  return text;
}

std::optional<bool> YamlReader::boolean(const Located& value) {
  auto text = scalar(value, "true or false");
  if (!text) return std::nullopt;
  if (is_plain(value.node)) {
    static const char* const kTrue[] = {"true", "True", "TRUE", "yes", "Yes",
                                        "YES",  "on",   "On",   "ON"};
    static const char* const kFalse[] = {"false", "False", "FALSE", "no", "No",
                                         "NO",    "off",   "Off",   "OFF"};
    for (const char* word : kTrue)
      if (*text == word) return true;
    for (const char* word : kFalse)
      if (*text == word) return false;
  }
  error(value, quote(*text) + " is not a boolean (use true or false, without quotes)");
  return std::nullopt;
}

std::optional<std::int64_t> YamlReader::integer(const Located& value, std::int64_t min,
                                                std::int64_t max) {
  std::string range = "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
  auto text = scalar(value, range);
  if (!text) return std::nullopt;
  std::string_view digits = *text;
  bool negative = digits.starts_with('-');
  if (negative) digits.remove_prefix(1);
  auto magnitude = parse_u64(digits);
  bool all_digits =
      !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos;
  if (is_plain(value.node) && !magnitude && all_digits) {
    error(value, *text + " is out of range (use " + range + ")");  // too many digits
    return std::nullopt;
  }
  if (!is_plain(value.node) || !magnitude) {
    error(value, quote(*text) + " is not a whole number (use " + range + ", without quotes)");
    return std::nullopt;
  }
  bool in_range = negative ? (min < 0 && *magnitude <= static_cast<std::uint64_t>(-(min + 1)) + 1)
                           : *magnitude <= static_cast<std::uint64_t>(max);
  // Converted only once known to fit, and negated as unsigned: -2^63 has no positive int64
  // counterpart, so negating it as int64 ("-9223372036854775808") is undefined behaviour.
  std::int64_t number =
      in_range ? static_cast<std::int64_t>(negative ? 0 - *magnitude : *magnitude) : 0;
  if (!in_range || number < min || number > max) {
    error(value, *text + " is out of range (use " + range + ")");
    return std::nullopt;
  }
  return number;
}

std::optional<double> YamlReader::number(const Located& value, double min, double max) {
  char range_text[96];
  std::snprintf(range_text, sizeof range_text, "a number from %g to %g", min, max);
  auto text = scalar(value, range_text);
  if (!text) return std::nullopt;
  char* end = nullptr;
  double number = text->empty() ? NAN : std::strtod(text->c_str(), &end);
  bool parsed = is_plain(value.node) && !text->empty() && end == text->c_str() + text->size() &&
                std::isfinite(number) && text->find_first_of("xXpP") == std::string::npos;
  if (!parsed) {
    error(value, quote(*text) + " is not a number (use " + range_text + ", without quotes)");
    return std::nullopt;
  }
  if (number < min || number > max) {
    error(value, *text + " is out of range (use " + range_text + ")");
    return std::nullopt;
  }
  return number;
}

std::optional<ByteLimit> YamlReader::size(const Located& value, std::uint64_t min_plain) {
  auto text = scalar(value, "a size such as 512M, or max");
  if (!text) return std::nullopt;
  auto size = parse_size(*text);
  if (!size) {
    // Digits with at most a unit letter, yet refused: more than 2^63-1 bytes.
    std::string_view digits = *text;
    if (!digits.empty() &&
        std::string_view("KkMmGgTt").find(digits.back()) != std::string_view::npos)
      digits.remove_suffix(1);
    if (!digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos)
      error(value, quote(*text) + " is too large (at most 8388607T, or max for no limit)");
    else
      error(value, quote(*text) + " is not a size (use e.g. 512M)");
    return std::nullopt;
  }
  if (min_plain > 0 && size->has_value()) {
    if (**size == 0) {
      error(value, quote(*text) + " is zero (use e.g. 512M, or max for no limit)");
      return std::nullopt;
    }
    bool unitless = parse_u64(*text).has_value();
    if (unitless && **size < min_plain) {
      error(value, *text + " bytes is too small (sizes without a unit are bytes: did you mean " +
                       *text + "M?)");
      return std::nullopt;
    }
  }
  return size;
}

std::optional<Duration> YamlReader::duration(const Located& value) {
  auto text = scalar(value, "a duration such as 500ms, 10s, 5m or 1h");
  if (!text) return std::nullopt;
  auto duration = parse_duration(*text);
  if (!duration) {
    std::string_view number = *text;
    for (const char* unit : {"ms", "s", "m", "h"}) {
      if (number.ends_with(unit)) {
        number.remove_suffix(std::string_view(unit).size());
        break;
      }
    }
    bool digits =
        !number.empty() && number.find_first_not_of("0123456789") == std::string_view::npos;
    if (digits && number.size() == text->size())
      error(value,
            quote(*text) + " has no unit (use e.g. " + *text + "s; the units are ms, s, m and h)");
    else if (digits)
      error(value, quote(*text) + " is longer than a year (use at most 8760h)");
    else
      error(value, quote(*text) + " is not a duration (use e.g. 500ms, 10s, 5m or 1h)");
    return std::nullopt;
  }
  return duration;
}

std::optional<std::size_t> YamlReader::choice(const Located& value,
                                              std::span<const char* const> choices,
                                              const char* what) {
  std::string list;
  std::size_t index = 0;
  for (const char* option : choices) {
    if (index > 0) list += index + 1 == choices.size() ? " or " : ", ";
    list += option;
    ++index;
  }
  auto text = scalar(value, list);
  if (!text) return std::nullopt;
  index = 0;
  for (const char* option : choices) {
    if (*text == option) return index;
    ++index;
  }
  error(value, quote(*text) + " is not " + what + " (use " + list + ")");
  return std::nullopt;
}

}  // namespace climits::config
