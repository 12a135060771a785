#pragma once

// RFC 4180 CSV (and TSV) reading: UTF-8, a header row, quoted fields with doubled quotes and
// embedded line breaks, LF or CRLF line ends. Errors name the file, the line and the field.

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "disclosure/table_reader.h"

namespace kura::disclosure {

// A CSV file mapped into memory. Unquoted and simply quoted fields are views into the mapping; a
// field with doubled quotes is unescaped into storage owned by the reader. A file with no quote
// character at all is split at line boundaries into up to `max_parts` parts of about equal size
// so that parts can be scanned in parallel; a file with quotes is one part, since a line break
// may sit inside a quoted field.
class CsvTableReader final : public TableReader {
 public:
  // Maps `path` and parses its header. NotFound when it does not exist; InvalidArgument for an
  // empty file, a malformed header or duplicated column names.
  static absl::StatusOr<std::unique_ptr<CsvTableReader>> Open(const std::string& path,
                                                              int max_parts = 1,
                                                              char delimiter = ',');
  ~CsvTableReader() override;
  CsvTableReader(const CsvTableReader&) = delete;
  CsvTableReader& operator=(const CsvTableReader&) = delete;

  const std::string& path() const override { return path_; }
  const std::vector<std::string>& columns() const override { return columns_; }
  int part_count() const override { return static_cast<int>(parts_.size()); }
  size_t part_bytes(int part) const override {
    return parts_[static_cast<size_t>(part)].end - parts_[static_cast<size_t>(part)].begin;
  }
  absl::Status ScanPart(int part, RowVisitor& visitor) override;
  // Drops the mapping's pages from this process (MADV_DONTNEED); they stay in the page cache
  // and fault back in if a view is read again.
  void ReleaseResidentData() override;

 private:
  CsvTableReader() = default;
  absl::Status ReadHeader();
  void SplitParts(int max_parts);
  // "path:line" for the record that starts at `offset`.
  std::string Where(size_t offset) const;

  std::string path_;
  char delimiter_ = ',';
  const char* data_ = nullptr;
  size_t size_ = 0;
  std::vector<std::string> columns_;
  struct Part {
    size_t begin = 0;
    size_t end = 0;
    std::deque<std::string> unescaped;  // Owns fields that had doubled quotes.
  };
  std::deque<Part> parts_;
};

// A small CSV held whole in memory (a submitted output table). Thread-compatible.
struct CsvDocument {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<int64_t> lines;  // Line number of each row in the file.
};

// Parses `text` (named `source` in errors) as CSV with `delimiter`.
absl::StatusOr<CsvDocument> ParseCsv(absl::string_view text, absl::string_view source,
                                     char delimiter = ',');

// Reads and parses the file at `path`.
absl::StatusOr<CsvDocument> ReadCsvFile(const std::string& path, char delimiter = ',');

// Writes `document` as RFC 4180 CSV with CRLF-free LF line ends, quoting where needed.
std::string FormatCsv(const CsvDocument& document, char delimiter = ',');

}  // namespace kura::disclosure

namespace kura::disclosure {

// The column names of the CSV at `path`, reading no further than its first record.
absl::StatusOr<std::vector<std::string>> ReadCsvHeader(const std::string& path,
                                                       char delimiter = ',');

}  // namespace kura::disclosure
