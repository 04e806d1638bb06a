#include "config/document.h"

#include <yaml-cpp/eventhandler.h>

#include <cstdio>
#include <cstring>
#include <sstream>
#include <vector>

#include "config/loader.h"
#include "config/yaml_reader.h"

namespace climits::config {

const char kTooLargeMessage[] =
    "the file is larger than 16 MiB; a configuration is normally a few KiB (is this the right "
    "file?)";

namespace {

ConfigError file_error(const std::string& file, int line, int column, const std::string& path,
                       const std::string& message) {
  return ConfigError{file, line, column, path, message};
}

// yaml-cpp 0.7 accepts a quoted scalar left open at the end of the file, taking everything
// after the quote as its text: a forgotten closing quote would silently swallow the rest of
// the file. Such a scalar is necessarily the last one, so only that one is checked.
struct OpenQuote {
  YAML::Mark at;
  char quote;
};

std::optional<OpenQuote> unterminated_quote(const std::optional<YAML::Mark>& last,
                                            std::string_view text) {
  if (text.starts_with("\xef\xbb\xbf")) text.remove_prefix(3);  // marks do not count a BOM
  if (!last || last->pos < 0 || static_cast<std::size_t>(last->pos) >= text.size())
    return std::nullopt;
  char quote = text[static_cast<std::size_t>(last->pos)];
  if (quote != '"' && quote != '\'') return std::nullopt;
  for (std::size_t i = static_cast<std::size_t>(last->pos) + 1; i < text.size(); ++i) {
    if (quote == '"' && text[i] == '\\') {
      ++i;  // an escaped character
    } else if (text[i] == quote) {
      if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;  // '' is a quote inside single quotes
        continue;
      }
      return std::nullopt;
    }
  }
  return OpenQuote{*last, quote};
}

// One pass over the parser's events for the whole stream: how many documents there are, where
// the second one's root stands, where the last scalar starts (for the open-quote check), and
// which collections are open (for a bracket never closed).
class DocumentScan : public YAML::EventHandler {
 public:
  int documents = 0;
  std::optional<YAML::Mark> second_root;
  std::optional<YAML::Mark> last_scalar;
  // Set when a document starts where the previous one started: the parser is stuck on a token
  // it does not consume (see load_first_document).
  std::optional<YAML::Mark> stuck_at;
  // Collections started and not ended yet, innermost last: after a syntax error, those the
  // parser was inside when it gave up.
  struct Open {
    YAML::Mark at;  // where the node starts (its anchor or tag, if any, comes first)
    bool flow;
    bool sequence;
  };
  std::vector<Open> open;

  void OnDocumentStart(const YAML::Mark& at) override {
    if (documents > 0 && at.pos == start_.pos) stuck_at = at;
    start_ = at;
    ++documents;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& at, YAML::anchor_t) override { node(at); }
  void OnAlias(const YAML::Mark& at, YAML::anchor_t) override { node(at); }
  void OnScalar(const YAML::Mark& at, const std::string&, YAML::anchor_t,
                const std::string&) override {
    node(at);
    if (!last_scalar || at.pos > last_scalar->pos) last_scalar = at;
  }
  void OnSequenceStart(const YAML::Mark& at, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value style) override {
    node(at);
    open.push_back({at, style == YAML::EmitterStyle::Flow, true});
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& at, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value style) override {
    node(at);
    open.push_back({at, style == YAML::EmitterStyle::Flow, false});
  }
  void OnMapEnd() override { close(); }

 private:
  void node(const YAML::Mark& at) {
    if (documents == 2 && !second_root) second_root = at;
  }
  void close() {
    if (!open.empty()) open.pop_back();
  }
  YAML::Mark start_;
};

// yaml-cpp reports a "[" or "{" never closed only where it gives up, often at the end of the
// file, far from the bracket. The collections it had started and not ended when it threw are
// still in `scan`: the innermost flow one of the kind it names is the bracket left open. Its
// place is the parser's own, so a bracket in a quoted string or a comment never counts. The
// mark is where the node starts: an anchor or a tag before the bracket (`&a [`) is stepped over.
struct OpenBracket {
  YAML::Mark at;
  char bracket;
};

std::optional<OpenBracket> unclosed_bracket(const DocumentScan& scan, const std::string& message,
                                            std::string_view text) {
  bool sequence = message == YAML::ErrorMsg::END_OF_SEQ_FLOW;
  if (!sequence && message != YAML::ErrorMsg::END_OF_MAP_FLOW) return std::nullopt;
  const char bracket = sequence ? '[' : '{';
  if (text.starts_with("\xef\xbb\xbf")) text.remove_prefix(3);  // marks do not count a BOM
  for (auto open = scan.open.rbegin(); open != scan.open.rend(); ++open) {
    if (!open->flow || open->sequence != sequence || open->at.pos < 0) continue;
    YAML::Mark at = open->at;
    auto pos = static_cast<std::size_t>(at.pos);
    auto step = [&] { ++pos, ++at.column; };
    while (pos < text.size() && (text[pos] == '&' || text[pos] == '!')) {
      while (pos < text.size() && text[pos] != bracket && !std::strchr(" \t\r\n", text[pos]))
        step();
      while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) step();
    }
    // Not the bracket (a single-pair mapping inside "[…]" has none): an outer one is.
    if (pos >= text.size() || text[pos] != bracket) continue;
    at.pos = static_cast<int>(pos);
    return OpenBracket{at, bracket};
  }
  return std::nullopt;
}

// The first document of the stream, built, and what `scan` learns about all of them; throws
// YAML::Exception on a syntax error anywhere, as YAML::LoadAll would.
// YAML::LoadAll itself is not used: yaml-cpp 0.7 never consumes a stray ',' at the top of a
// document (",r:"), and LoadAll then appends empty documents forever until the memory runs
// out (yaml-cpp issue #1040). A document that starts where the previous one started has made
// no progress: that token is reported as a syntax error instead.
YAML::Node load_first_document(std::string_view text, DocumentScan& scan) {
  std::string copy(text);
  std::istringstream stream(copy);
  YAML::Parser parser(stream);
  while (parser.HandleNextDocument(scan)) {
    if (scan.stuck_at) {
      auto at = static_cast<std::size_t>(scan.stuck_at->pos);
      char c = at < text.size() ? text[at] : '\0';
      std::string what = c > ' ' && c < 0x7f ? std::string("\"") + c + "\"" : "text";
      throw YAML::ParserException(*scan.stuck_at, "unexpected " + what);
    }
  }
  // Only one parse builds nodes; the configuration is the first document (any other is an
  // error reported from `scan`).
  return scan.documents == 0 ? YAML::Node() : YAML::Load(copy);
}

// A tab in the indentation of the line an error is on is the likely cause.
bool tab_indented(std::string_view text, int line) {
  std::size_t start = 0;
  for (int i = 0; i < line && start != std::string_view::npos; ++i) {
    start = text.find('\n', start);
    if (start != std::string_view::npos) ++start;
  }
  if (start == std::string_view::npos) return false;
  for (std::size_t i = start; i < text.size() && (text[i] == ' ' || text[i] == '\t'); ++i)
    if (text[i] == '\t') return true;
  return false;
}

// YAML is text: the first byte that is not valid UTF-8, or a control character other than
// tab, line feed and carriage return (as in binary files), is reported with its position
// instead of whatever the YAML parser would make of it.
std::optional<ConfigError> check_text(std::string_view text, const std::string& file_name) {
  int line = 1, column = 1;
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = c < 0x80           ? 1
                         : (c >> 5) == 0x6  ? 2
                         : (c >> 4) == 0xe  ? 3
                         : (c >> 3) == 0x1e ? 4
                                            : 0;
    bool valid = length != 0 && i + length <= text.size();
    for (std::size_t k = 1; valid && k < length; ++k)
      valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    auto hex = [c] {
      char text[8];
      std::snprintf(text, sizeof text, "0x%02x", c);
      return std::string(text);
    };
    if (!valid)
      return file_error(file_name, line, column, "(top level)",
                        "byte " + hex() +
                            " is not UTF-8 text (save the file as UTF-8; "
                            "is this the right file?)");
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
      return file_error(file_name, line, column, "(top level)",
                        "control character " + hex() +
                            " is not allowed in YAML (is "
                            "this the right file?)");
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += length;
  }
  return std::nullopt;
}

// A syntax error, with the bracket left open when that is the cause.
ConfigError syntax_error(const YAML::Exception& e, const DocumentScan& scan, std::string_view text,
                         const std::string& file_name) {
  if (auto open = unclosed_bracket(scan, e.msg, text)) {
    const char closing = open->bracket == '[' ? ']' : '}';
    return file_error(file_name, open->at.line + 1, open->at.column + 1, "(yaml syntax)",
                      std::string("\"") + open->bracket +
                          "\" opened here is never closed (add the closing \"" + closing +
                          "\"; the parser gave up at " + std::to_string(e.mark.line + 1) + ":" +
                          std::to_string(e.mark.column + 1) + ": " + e.msg + ")");
  }
  // yaml-cpp's messages can carry a byte of the file ("unknown escape character: \r").
  std::string message = printable(e.msg);
  if (message == "bad file" || message.find("depth") != std::string::npos)
    message = "nesting is too deep";
  message += tab_indented(text, e.mark.line) ? " (indent with spaces: YAML does not allow tabs)"
                                             : " (check indentation, brackets and quotes)";
  return file_error(file_name, e.mark.line + 1, e.mark.column + 1, "(yaml syntax)", message);
}

}  // namespace

ParsedDocument parse_document(std::string_view text, const std::string& file_name) {
  ParsedDocument parsed;
  if (text.size() > kMaxConfigBytes) {
    parsed.error = file_error(file_name, 0, 0, "", kTooLargeMessage);
    return parsed;
  }
  if ((parsed.error = check_text(text, file_name))) return parsed;
  DocumentScan scan;
  try {
    parsed.document = load_first_document(text, scan);
  } catch (const YAML::Exception& e) {
    parsed.error = syntax_error(e, scan, text, file_name);
    return parsed;
  }
  if (auto open = unterminated_quote(scan.last_scalar, text)) {
    parsed.error = file_error(file_name, open->at.line + 1, open->at.column + 1, "(yaml syntax)",
                              std::string("this quoted string is never closed (add the "
                                          "closing ") +
                                  open->quote + ")");
  } else if (scan.documents > 1) {
    const YAML::Mark at = scan.second_root.value_or(YAML::Mark());
    parsed.error = file_error(file_name, at.line + 1, at.column + 1, "(top level)",
                              "the file holds more than one YAML document (remove the "
                              "second \"---\" and what follows)");
  }
  return parsed;
}

}  // namespace climits::config
