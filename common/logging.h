#pragma once

#include <sstream>
#include <string_view>

namespace kura {

enum class LogSeverity { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kFatal = 4 };

// Sets the least severity written; messages below it are dropped. Default kInfo, or the value of
// KURA_LOG_LEVEL (debug|info|warning|error) in the environment. Thread-safe.
void SetMinLogSeverity(LogSeverity severity);
LogSeverity MinLogSeverity();

// Writes one line to stderr: time, severity, source position and message. Thread-safe; a line
// is written with one write(2). kFatal aborts after writing.
void LogLine(LogSeverity severity, const char* file, int line, std::string_view message);

// Collects one streamed message and writes it when destroyed.
class LogMessage final {
 public:
  LogMessage(LogSeverity severity, const char* file, int line)
      : severity_(severity), file_(file), line_(line) {}
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  ~LogMessage() { LogLine(severity_, file_, line_, stream_.str()); }
  std::ostream& stream() { return stream_; }

 private:
  LogSeverity severity_;
  const char* file_;
  int line_;
  std::ostringstream stream_;
};

}  // namespace kura

// KURA_LOG(INFO) << "workspace " << id << " opened";
#define KURA_LOG(severity)                                                         \
  if (::kura::LogSeverity::k##severity < ::kura::MinLogSeverity()) {              \
  } else                                                                          \
    ::kura::LogMessage(::kura::LogSeverity::k##severity, __FILE__, __LINE__).stream()

