#include "common/logging.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "absl/strings/str_format.h"

namespace kura {
namespace {

LogSeverity SeverityFromEnvironment() {
  const char* level = std::getenv("KURA_LOG_LEVEL");
  if (level == nullptr) return LogSeverity::kInfo;
  if (std::strcmp(level, "debug") == 0) return LogSeverity::kDebug;
  if (std::strcmp(level, "warning") == 0) return LogSeverity::kWarning;
  if (std::strcmp(level, "error") == 0) return LogSeverity::kError;
  return LogSeverity::kInfo;
}

std::atomic<LogSeverity>& MinSeverity() {
  static std::atomic<LogSeverity> severity{SeverityFromEnvironment()};
  return severity;
}

const char* SeverityLetter(LogSeverity severity) {
  switch (severity) {
    case LogSeverity::kDebug: return "D";
    case LogSeverity::kInfo: return "I";
    case LogSeverity::kWarning: return "W";
    case LogSeverity::kError: return "E";
    case LogSeverity::kFatal: return "F";
  }
  return "?";
}

}  // namespace

void SetMinLogSeverity(LogSeverity severity) { MinSeverity().store(severity); }
LogSeverity MinLogSeverity() { return MinSeverity().load(std::memory_order_relaxed); }

void LogLine(LogSeverity severity, const char* file, int line, std::string_view message) {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc;
  gmtime_r(&now.tv_sec, &utc);
  const char* base = std::strrchr(file, '/');
  std::string text = absl::StrFormat(
      "%s %04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s:%d] %s\n", SeverityLetter(severity),
      utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
      now.tv_nsec / 1000000, base ? base + 1 : file, line, message);
  (void)!::write(STDERR_FILENO, text.data(), text.size());
  if (severity == LogSeverity::kFatal) std::abort();
}

}  // namespace kura
