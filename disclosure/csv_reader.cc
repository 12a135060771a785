#include "disclosure/csv_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "disclosure/file_io.h"

namespace kura::disclosure {
namespace {

enum ByteClass : uint8_t { kPlain = 0, kDelimiter, kLineFeed, kCarriageReturn, kQuote, kHigh };

using ByteClasses = std::array<uint8_t, 256>;

ByteClasses MakeByteClasses(char delimiter) {
  ByteClasses classes{};
  for (int c = 0x80; c < 0x100; ++c) classes[c] = kHigh;
  classes[static_cast<uint8_t>(delimiter)] = kDelimiter;
  classes['\n'] = kLineFeed;
  classes['\r'] = kCarriageReturn;
  classes['"'] = kQuote;
  return classes;
}

// Length of the well-formed UTF-8 sequence at `p` (lead byte >= 0x80), or 0 when it is not one:
// stray continuation bytes, overlong forms, surrogates and code points above U+10FFFF.
int Utf8SequenceLength(const char* p, const char* end) {
  const auto* s = reinterpret_cast<const unsigned char*>(p);
  const size_t left = static_cast<size_t>(end - p);
  auto cont = [&](size_t i) { return i < left && (s[i] & 0xC0) == 0x80; };
  if (s[0] >= 0xC2 && s[0] <= 0xDF) return cont(1) ? 2 : 0;
  if (s[0] >= 0xE0 && s[0] <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (s[0] == 0xE0 && s[1] < 0xA0) return 0;
    if (s[0] == 0xED && s[1] >= 0xA0) return 0;
    return 3;
  }
  if (s[0] >= 0xF0 && s[0] <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (s[0] == 0xF0 && s[1] < 0x90) return 0;
    if (s[0] == 0xF4 && s[1] >= 0x90) return 0;
    return 4;
  }
  return 0;
}

const char* const kBadUtf8 = "invalid UTF-8";

// Parses the quoted field whose opening quote is at `p`. On success appends the field (a view
// into the buffer, or into `unescaped` when it held doubled quotes) and leaves `p` just past the
// closing quote. Returns an error text or nullptr.
const char* ParseQuoted(const char*& p, const char* end, std::vector<absl::string_view>& fields,
                        std::deque<std::string>& unescaped) {
  const char* start = ++p;
  bool doubled = false;
  for (;;) {
    if (p >= end) return "unterminated quoted field";
    const unsigned char c = static_cast<unsigned char>(*p);
    if (c == '"') {
      if (p + 1 < end && p[1] == '"') {
        doubled = true;
        p += 2;
        continue;
      }
      break;
    }
    if (c >= 0x80) {
      const int n = Utf8SequenceLength(p, end);
      if (n == 0) return kBadUtf8;
      p += n;
      continue;
    }
    ++p;
  }
  absl::string_view raw(start, static_cast<size_t>(p - start));
  ++p;  // Closing quote.
  if (!doubled) {
    fields.push_back(raw);
    return nullptr;
  }
  std::string& out = unescaped.emplace_back();
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    out.push_back(raw[i]);
    if (raw[i] == '"') ++i;  // The second quote of a pair.
  }
  fields.push_back(out);
  return nullptr;
}

// Parses one record starting at `p` into `fields` and leaves `p` at the start of the next
// record. Returns an error text (the failing field is fields.size()) or nullptr.
const char* ParseRecord(const ByteClasses& classes, const char*& p, const char* end,
                        std::vector<absl::string_view>& fields,
                        std::deque<std::string>& unescaped) {
  fields.clear();
  for (;;) {
    if (p < end && *p == '"') {
      const char* error = ParseQuoted(p, end, fields, unescaped);
      if (error != nullptr) return error;
    } else {
      const char* start = p;
      while (p < end) {
        const uint8_t k = classes[static_cast<uint8_t>(*p)];
        if (k == kPlain) {
          ++p;
        } else if (k == kHigh) {
          const int n = Utf8SequenceLength(p, end);
          if (n == 0) return kBadUtf8;
          p += n;
        } else {
          break;
        }
      }
      fields.emplace_back(start, static_cast<size_t>(p - start));
    }
    if (p >= end) return nullptr;
    switch (classes[static_cast<uint8_t>(*p)]) {
      case kDelimiter:
        ++p;
        if (p >= end) {  // A trailing delimiter at the very end: one more, empty field.
          fields.emplace_back();
          return nullptr;
        }
        continue;
      case kLineFeed:
        ++p;
        return nullptr;
      case kCarriageReturn:
        if (p + 1 < end && p[1] == '\n') {
          p += 2;
          return nullptr;
        }
        fields.pop_back();
        return "carriage return not followed by a line feed";
      case kQuote:
        fields.pop_back();
        return "quote character inside an unquoted field";
      default:
        fields.pop_back();
        return "text after the closing quote";
    }
  }
}

// True when the record at `p` is an empty line (skipped).
bool SkipBlankLine(const char*& p, const char* end) {
  if (p < end && *p == '\n') {
    ++p;
    return true;
  }
  if (p + 1 < end && p[0] == '\r' && p[1] == '\n') {
    p += 2;
    return true;
  }
  return false;
}

std::string FieldName(const std::vector<std::string>& columns, size_t index) {
  if (index < columns.size()) return absl::StrCat("field ", index + 1, " (", columns[index], ")");
  return absl::StrCat("field ", index + 1);
}

absl::Status CheckHeader(const std::vector<std::string>& columns) {
  absl::flat_hash_set<std::string> seen;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].empty())
      return absl::InvalidArgumentError(absl::StrCat("header field ", i + 1, " is empty"));
    if (!seen.insert(columns[i]).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("header field ", i + 1, ": column \"", columns[i], "\" appears twice"));
    }
  }
  return absl::OkStatus();
}

size_t SkipBom(absl::string_view text) {
  return text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
}

}  // namespace

int TableReader::ColumnIndex(absl::string_view column) const {
  const auto& names = columns();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == column) return static_cast<int>(i);
  }
  return -1;
}

absl::StatusOr<std::unique_ptr<CsvTableReader>> CsvTableReader::Open(const std::string& path,
                                                                     int max_parts,
                                                                     char delimiter) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return ErrnoError("open", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("fstat", path);
  if (!S_ISREG(st.st_mode))
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  if (st.st_size == 0)
    return absl::InvalidArgumentError(absl::StrCat(path, ":1: empty file, no header row"));
  std::unique_ptr<CsvTableReader> reader(new CsvTableReader());
  reader->path_ = path;
  reader->delimiter_ = delimiter;
  reader->size_ = static_cast<size_t>(st.st_size);
  void* map = ::mmap(nullptr, reader->size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
  if (map == MAP_FAILED) return ErrnoError("mmap", path);
  reader->data_ = static_cast<const char*>(map);
  KURA_RETURN_IF_ERROR(reader->ReadHeader());
  reader->SplitParts(std::max(1, max_parts));
  return reader;
}

CsvTableReader::~CsvTableReader() {
  if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
}

absl::Status CsvTableReader::ReadHeader() {
  const ByteClasses classes = MakeByteClasses(delimiter_);
  const char* p = data_ + SkipBom(absl::string_view(data_, size_));
  const char* end = data_ + size_;
  std::vector<absl::string_view> fields;
  parts_.emplace_back();
  const char* error = ParseRecord(classes, p, end, fields, parts_.front().unescaped);
  if (error != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ":1: header ", FieldName({}, fields.size()), ": ", error));
  }
  columns_.clear();
  for (absl::string_view f : fields) columns_.emplace_back(f);
  if (absl::Status s = CheckHeader(columns_); !s.ok())
    return Annotate(s, absl::StrCat(path_, ":1"));
  parts_.front().begin = static_cast<size_t>(p - data_);
  parts_.front().end = size_;
  return absl::OkStatus();
}

void CsvTableReader::SplitParts(int max_parts) {
  const size_t begin = parts_.front().begin;
  if (max_parts <= 1 || size_ - begin < (1u << 20) ||
      std::memchr(data_ + begin, '"', size_ - begin) != nullptr) {
    return;
  }
  const size_t step = (size_ - begin) / static_cast<size_t>(max_parts);
  size_t start = begin;
  parts_.clear();
  for (int i = 0; i < max_parts && start < size_; ++i) {
    size_t stop = size_;
    if (i + 1 < max_parts) {
      const void* nl = std::memchr(data_ + std::max(start, begin + step * (i + 1)), '\n',
                                   size_ - std::max(start, begin + step * (i + 1)));
      if (nl != nullptr) stop = static_cast<size_t>(static_cast<const char*>(nl) - data_) + 1;
    }
    Part& part = parts_.emplace_back();
    part.begin = start;
    part.end = stop;
    start = stop;
  }
}

void CsvTableReader::ReleaseResidentData() {
  if (data_ != nullptr) ::madvise(const_cast<char*>(data_), size_, MADV_DONTNEED);
}

std::string CsvTableReader::Where(size_t offset) const {
  const int64_t line = 1 + std::count(data_, data_ + offset, '\n');
  return absl::StrCat(path_, ":", line);
}

absl::Status CsvTableReader::ScanPart(int part_index, RowVisitor& visitor) {
  Part& part = parts_[static_cast<size_t>(part_index)];
  const ByteClasses classes = MakeByteClasses(delimiter_);
  const char* p = data_ + part.begin;
  const char* end = data_ + part.end;
  const size_t width = columns_.size();
  std::vector<absl::string_view> fields;
  fields.reserve(width + 1);
  while (p < end) {
    if (SkipBlankLine(p, end)) continue;
    const char* record = p;
    const char* error = ParseRecord(classes, p, end, fields, part.unescaped);
    const size_t offset = static_cast<size_t>(record - data_);
    if (error != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(offset), ": ", FieldName(columns_, fields.size()), ": ", error));
    }
    if (fields.size() != width) {
      return absl::InvalidArgumentError(absl::StrCat(
          Where(offset), ": expected ", width, " fields as in the header, found ", fields.size()));
    }
    absl::Status status = visitor.OnRow(fields);
    if (!status.ok()) return Annotate(status, Where(offset));
  }
  return absl::OkStatus();
}

absl::StatusOr<CsvDocument> ParseCsv(absl::string_view text, absl::string_view source,
                                     char delimiter) {
  const ByteClasses classes = MakeByteClasses(delimiter);
  const char* begin = text.data() + SkipBom(text);
  const char* p = begin;
  const char* end = text.data() + text.size();
  if (p == end)
    return absl::InvalidArgumentError(absl::StrCat(source, ":1: empty file, no header row"));
  std::deque<std::string> unescaped;
  std::vector<absl::string_view> fields;
  CsvDocument doc;
  int64_t line = 1;
  const char* counted = begin;
  bool header = true;
  while (p < end) {
    if (SkipBlankLine(p, end)) continue;
    line += std::count(counted, p, '\n');
    counted = p;
    const char* error = ParseRecord(classes, p, end, fields, unescaped);
    if (error != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ":", line, ": ", FieldName(doc.header, fields.size()), ": ", error));
    }
    std::vector<std::string> row;
    row.reserve(fields.size());
    for (absl::string_view f : fields) row.emplace_back(f);
    if (header) {
      doc.header = std::move(row);
      if (absl::Status s = CheckHeader(doc.header); !s.ok())
        return Annotate(s, absl::StrCat(source, ":1"));
      header = false;
      continue;
    }
    if (row.size() != doc.header.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ":", line, ": expected ", doc.header.size(),
                       " fields as in the header, found ", row.size()));
    }
    doc.rows.push_back(std::move(row));
    doc.lines.push_back(line);
  }
  return doc;
}

absl::StatusOr<CsvDocument> ReadCsvFile(const std::string& path, char delimiter) {
  KURA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseCsv(text, path, delimiter);
}

std::string FormatCsv(const CsvDocument& document, char delimiter) {
  std::string out;
  auto write_row = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) out.push_back(delimiter);
      const std::string& field = row[i];
      const bool quote =
          field.find_first_of(std::string{delimiter, '"', '\r', '\n'}) != std::string::npos;
      if (!quote) {
        out += field;
        continue;
      }
      out.push_back('"');
      for (char c : field) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
      }
      out.push_back('"');
    }
    out.push_back('\n');
  };
  write_row(document.header);
  for (const auto& row : document.rows) write_row(row);
  return out;
}

}  // namespace kura::disclosure

namespace kura::disclosure {

absl::StatusOr<std::vector<std::string>> ReadCsvHeader(const std::string& path, char delimiter) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return ErrnoError("open", path);
  std::string text;
  char buffer[1 << 16];
  bool quoted = false;
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0) return ErrnoError("read", path);
    if (n == 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buffer[i] == '"') quoted = !quoted;
      if (buffer[i] == '\n' && !quoted) {
        text.append(buffer, static_cast<size_t>(i + 1));
        KURA_ASSIGN_OR_RETURN(CsvDocument doc, ParseCsv(text, path, delimiter));
        return doc.header;
      }
    }
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > (1u << 20)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":1: header row longer than 1 MiB"));
    }
  }
  KURA_ASSIGN_OR_RETURN(CsvDocument doc, ParseCsv(text, path, delimiter));
  return doc.header;
}

}  // namespace kura::disclosure
