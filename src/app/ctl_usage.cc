#include "app/ctl_usage.h"

#include <iostream>

namespace climits::ctl {

namespace {

const CLI::App* parsed_subcommand(const CLI::App& cli) {
  auto parsed = cli.get_subcommands([](const CLI::App* sub) { return sub->parsed(); });
  return parsed.empty() ? nullptr : parsed.front();
}

// "status, start, stop, restart, reload, version, signal, logs or events"
std::string command_list(const CLI::App& cli) {
  auto subs = cli.get_subcommands([](const CLI::App*) { return true; });
  std::string list;
  for (std::size_t i = 0; i < subs.size(); ++i)
    list += (i == 0 ? "" : i + 1 == subs.size() ? " or " : ", ") + subs[i]->get_name();
  return list;
}

std::string lower_first(std::string text) {
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = static_cast<char>(text[0] + 32);
  while (!text.empty() && (text.back() == '\n' || text.back() == '.')) text.pop_back();
  return text;
}

// "stop needs program names, or all": a required option or argument of `sub` not given,
// in the words of its description.
std::optional<std::string> missing_required(const CLI::App& sub) {
  for (const CLI::Option* option : sub.get_options()) {
    if (!option->get_required() || option->count() > 0) continue;
    std::string what = option->get_description().empty() ? option->get_name()
                                                         : lower_first(option->get_description());
    return sub.get_name() + " needs " + what;
  }
  return std::nullopt;
}

// The words CLI11 lists after "…not expected: ", in the order given (it lists them reversed).
std::vector<std::string> extras_of(const std::string& message) {
  std::vector<std::string> words;
  auto colon = message.find(": ");
  if (colon == std::string::npos) return words;
  std::string rest = message.substr(colon + 2);
  std::size_t start = 0;
  while (start < rest.size()) {
    auto end = rest.find(' ', start);
    if (end == std::string::npos) end = rest.size();
    if (end > start) words.insert(words.begin(), rest.substr(start, end - start));
    start = end + 1;
  }
  return words;
}

}  // namespace

std::optional<std::string> early_usage_error(const CLI::App& cli,
                                             const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "--") return std::nullopt;
    if (word.size() > 1 && word[0] == '-') {
      // "--socket=PATH" and "-sPATH" carry their value; "-s PATH" has it in the next word.
      bool long_form = word[1] == '-';
      std::string name = long_form ? word.substr(0, word.find('=')) : word.substr(0, 2);
      bool value_attached = long_form ? name.size() < word.size() : word.size() > 2;
      const CLI::Option* option = nullptr;
      try {
        option = cli.get_option(name);
      } catch (const CLI::OptionNotFound&) {
        // CLI11 would say "A subcommand is required", or hand it to the command that follows.
        return "unknown option " + name;
      }
      if (!value_attached && option->get_type_size() > 0) ++i;
      continue;
    }
    try {
      cli.get_subcommand(word);
      return std::nullopt;
    } catch (const CLI::OptionNotFound&) {
      return "unknown command \"" + word + "\" (use " + command_list(cli) + ")";
    }
  }
  return std::nullopt;
}

std::string usage_message(const CLI::ParseError& error, const CLI::App& cli) {
  const CLI::App* sub = parsed_subcommand(cli);
  std::string where = sub != nullptr ? sub->get_name() + ": " : "";
  std::string message = error.what();
  if (dynamic_cast<const CLI::RequiredError*>(&error) != nullptr) {
    if (sub == nullptr) return "no command given (use " + command_list(cli) + ")";
    if (auto missing = missing_required(*sub)) return *missing;
  } else if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr) {
    auto extras = extras_of(message);
    if (!extras.empty()) {
      const std::string& first = extras.front();
      if (first.size() > 1 && first[0] == '-') return where + "unknown option " + first;
      return where + "unexpected argument \"" + first + "\"";
    }
  } else if (dynamic_cast<const CLI::ConversionError*>(&error) != nullptr) {
    // "Could not convert: --timeout = abc"
    constexpr std::string_view kPrefix = "Could not convert: ";
    if (auto equals = message.find(" = ");
        message.starts_with(kPrefix) && equals != std::string::npos)
      return where + "invalid value \"" + message.substr(equals + 3) + "\" for " +
             message.substr(kPrefix.size(), equals - kPrefix.size());
  } else if (dynamic_cast<const CLI::ArgumentMismatch*>(&error) != nullptr) {
    // "--timeout: 1 required NUMBER missing"
    if (auto colon = message.find(": ");
        colon != std::string::npos && message.find(" missing") != std::string::npos)
      return where + message.substr(0, colon) + " needs a value";
  }
  return where + lower_first(message);
}

int usage_error(const std::string& message, const CLI::App& cli) {
  const CLI::App* sub = parsed_subcommand(cli);
  std::cerr << "climits-ctl: " << message << "\n"
            << "climits-ctl: try 'climits-ctl " << (sub != nullptr ? sub->get_name() + " " : "")
            << "--help'\n";
  return kExitUsage;
}

}  // namespace climits::ctl
