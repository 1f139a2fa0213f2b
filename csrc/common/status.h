// Status codes returned by the C++ core. Hot loops never throw: they return a Status, and the
// binding layer (csrc/python/) turns it into a Python exception. Values are stable.
#pragma once

#include <string>
#include <utility>

namespace fastcodec {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // caller passed something the contract forbids (ValueError)
  kCorruptData = 2,      // bytes are not a valid stream for these indexes and table (BitstreamError)
  kTruncatedData = 3,    // the stream ended before decoding finished (BitstreamError)
};

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status Corrupt(std::string m) { return {StatusCode::kCorruptData, std::move(m)}; }
  static Status Truncated(std::string m) { return {StatusCode::kTruncatedData, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

}  // namespace fastcodec
