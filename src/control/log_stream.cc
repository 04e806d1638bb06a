#include "control/log_stream.h"

#include <algorithm>

namespace climits::control {

TailLines last_lines(std::string_view bytes, bool whole_file, std::size_t count,
                     bool hold_partial) {
  TailLines tail;
  std::string_view body = bytes;
  std::size_t end_of_lines = bytes.rfind('\n');
  if (hold_partial) {
    std::size_t cut = end_of_lines == std::string_view::npos ? 0 : end_of_lines + 1;
    tail.partial = bytes.substr(cut);
    body = bytes.substr(0, cut);
  }
  if (!whole_file) {
    // The window may begin inside a line: that line is not shown.
    std::size_t first = body.find('\n');
    body = first == std::string_view::npos ? std::string_view{} : body.substr(first + 1);
  }
  if (!body.empty() && body.back() == '\n')
    body.remove_suffix(1);
  else if (body.empty())
    return tail;
  // Backwards from the end, `count` lines at most.
  std::vector<std::string_view> reversed;
  std::size_t end = body.size();
  while (reversed.size() < count) {
    std::size_t newline = end == 0 ? std::string_view::npos : body.rfind('\n', end - 1);
    std::size_t begin = newline == std::string_view::npos ? 0 : newline + 1;
    reversed.push_back(body.substr(begin, end - begin));
    if (newline == std::string_view::npos) break;
    end = newline;
  }
  tail.lines.assign(reversed.rbegin(), reversed.rend());
  return tail;
}

class LogStream::Follower : public supervisor::OutputFollower {
 public:
  Follower(LogStream* owner, std::string prefix) : owner_(owner), prefix_(std::move(prefix)) {}
  void on_lines(std::string_view lines) override { owner_->forward(prefix_, lines); }

 private:
  LogStream* owner_;
  std::string prefix_;  // the JSON of its lines up to the line itself, encoded once
};

LogStream::LogStream(std::vector<Source> sources, LogsOptions options)
    : sources_(std::move(sources)), options_(options) {}

LogStream::~LogStream() = default;

void LogStream::start(StreamOutput& output) {
  output_ = &output;
  // Enough for `lines` lines of ordinary length; a file of longer lines is read again with
  // more, up to the budget.
  std::size_t budget = std::clamp(kMaxTailBytes / std::max<std::size_t>(sources_.size(), 1),
                                  kMinTailBytesPerFile, kMaxTailBytesPerFile);
  std::string text;
  std::uint64_t sent = 0;
  for (const auto& source : sources_) {
    std::size_t want = std::min(budget, std::max<std::size_t>(options_.lines * 256, 8192));
    supervisor::LogFile::Tail tail;
    TailLines picked;
    for (;;) {
      auto read = source.file->read_tail(want);
      if (!read) {
        // One line in the stream rather than a failed request: the other files still come.
        append_log_line(
            text, source.name, source.stream,
            "(climits-manager: cannot read the file's end: " + read.error().message + ")");
        break;
      }
      tail = std::move(*read);
      picked = last_lines(tail.bytes, tail.whole_file, options_.lines, options_.follow);
      if (picked.lines.size() >= options_.lines || tail.whole_file || want >= budget) break;
      want = std::min(budget, want * 4);
    }
    if (options_.lines == 0) picked.lines.clear();
    for (auto line : picked.lines) append_log_line(text, source.name, source.stream, line);
    sent += picked.lines.size();
    if (options_.follow) {
      followers_.push_back(
          std::make_unique<Follower>(this, log_line_prefix(source.name, source.stream)));
      source.file->tap().follow(followers_.back().get(), picked.partial);
    }
  }
  // The tail goes out as one write, whatever its size: the cap is for what follows.
  if (!text.empty()) output.push_first(std::move(text));
  if (!options_.follow) {
    output.push_first(to_line(logs_complete(sent)) + "\n");
    output.finish();
  }
}

void LogStream::stop() {
  for (std::size_t i = 0; i < followers_.size(); ++i)
    sources_[i].file->tap().unfollow(followers_[i].get());
  followers_.clear();
  // The files themselves are let go with the stream (shared with their runners).
  output_ = nullptr;
}

void LogStream::forward(const std::string& prefix, std::string_view lines) {
  if (output_ == nullptr) return;
  // One allocation of about the right size: growing by doubling copied each chunk several
  // times over (bench/follow.py, perf). Escapes are rare; an eighth more leaves room for some.
  auto newlines = static_cast<std::size_t>(std::count(lines.begin(), lines.end(), '\n'));
  std::string text;
  text.reserve(lines.size() + lines.size() / 8 + (newlines + 1) * (prefix.size() + 3));
  std::uint64_t count = 0;
  std::size_t begin = 0;
  while (begin < lines.size()) {
    std::size_t newline = lines.find('\n', begin);
    if (newline == std::string_view::npos) newline = lines.size();
    append_log_line(text, prefix, lines.substr(begin, newline - begin));
    ++count;
    begin = newline + 1;
  }
  output_->push(std::move(text), count, lines.size());
}

}  // namespace climits::control
