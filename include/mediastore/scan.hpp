// Virus scanning: a small Scanner interface and ClamdScanner, a client of
// clamd's INSTREAM command (clamd(8)) over a Unix socket or TCP.
//
//   auto scanner = mediastore::ClamdScanner::open(config.scan).value();
//   auto r = scanner->scan_file("/srv/spool/upload.jpg");
//   if (!r.ok())            -> clamd down, refused, too slow or answering garbage:
//                              a transient Status (unavailable, timeout,
//                              network_error); try again later
//   else if (r->verdict == ScanVerdict::infected)   -> r->signature fired
//   else if (r->verdict == ScanVerdict::unscanned)  -> clamd did not look at it all
//
// Three verdicts, never two: a file clamd did not scan in full is not
// `clean`. clamd answers "OK" for a stream it cut at its MaxScanSize or
// MaxFileSize unless AlertExceedsMax is set, so an OK tells nothing about
// the bytes past those limits. This client therefore never sends a file
// larger than the StreamMaxLength it is configured with (the verdict would
// cover a part only): such a file is `unscanned` without contacting clamd, as
// are clamd's "INSTREAM size limit exceeded" answer and the
// Heuristics.Limits.Exceeded.* signatures clamd reports with AlertExceedsMax.
// Run clamd with AlertExceedsMax yes and give this client its StreamMaxLength
// (MEDIA_CLAMD_STREAM_MAX_BYTES) so that every partial scan is seen as one.
//
// Bytes are streamed from the source in bounded chunks (ClamdOptions::chunk_bytes);
// no copy of the whole file is made.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mediastore/config.hpp"
#include "mediastore/export.hpp"
#include "mediastore/status.hpp"

namespace mediastore {

enum class ScanVerdict {
  clean,      // scanned in full, no signature fired
  infected,   // a signature fired (ScanResult::signature)
  unscanned,  // not scanned in full (ScanResult::reason); never to be taken as clean
};
// "clean", "infected", "unscanned".
MS_API const char* scan_verdict_name(ScanVerdict verdict) noexcept;

struct ScanResult {
  ScanVerdict verdict = ScanVerdict::unscanned;
  // infected: the signature name as the scanner reports it
  // ("Win.Test.EICAR_HDB-1"; clamd appends ".UNOFFICIAL" to unsigned local
  // databases). unscanned: the limit signature if clamd reported one.
  std::string signature;
  // unscanned: why, for a person ("larger than the stream limit of 26214400 bytes").
  std::string reason;
  std::uint64_t bytes = 0;  // bytes sent to the scanner
};

// Reads up to n bytes into buf; returns 0 at the end, or an error. The
// scanner calls it from the scanning thread only.
using ScanReadFn = std::function<Result<std::size_t>(void* buf, std::size_t n)>;

// Something that scans bytes for malware.
// Thread-safety: implementations are safe to call from many threads at once.
class MS_API Scanner {
 public:
  virtual ~Scanner();
  // Scans the bytes `read` yields until it returns 0. `size`: their total
  // when known, so that an input over the scanner's limit is refused without
  // being sent. A read error is returned as it is.
  virtual Result<ScanResult> scan(const ScanReadFn& read, std::optional<std::uint64_t> size) = 0;
  // Checks that the scanner answers (clamd: PING -> PONG); the same
  // transient errors as scan().
  virtual Status ping() = 0;
  // The scanner's address for messages ("clamd at unix:/run/clamav/clamd.ctl").
  virtual std::string describe() const = 0;

  // Scans a file, read in chunks from disk. not_found, permission_denied or
  // io_error naming the path when it cannot be read.
  Result<ScanResult> scan_file(const std::string& path);
  // Scans bytes the caller keeps alive for the call.
  Result<ScanResult> scan_memory(std::string_view data);
};

struct ClamdOptions {
  // "unix:/PATH" or "tcp://HOST:PORT" (parsed strictly; invalid_argument
  // naming MEDIA_CLAMD_URL otherwise). Required.
  std::string url;
  // clamd's StreamMaxLength: larger inputs are `unscanned`, never sent.
  // Default: 25 MiB (clamd's default).
  std::uint64_t stream_max_bytes = 25ull << 20;
  // The longest wait for clamd: connecting, each chunk accepted, the verdict
  // after the last chunk. A scan thus ends within (chunks + 2) × timeout
  // whatever clamd does. Default: 30 s.
  std::chrono::milliseconds timeout{30000};
  // Bytes per INSTREAM chunk (and the only buffer a scan holds).
  // Default: 256 KiB (bench/scan: a little faster than 64 KiB, no faster
  // at 1 MiB); 1 KiB .. 16 MiB.
  std::size_t chunk_bytes = 256 << 10;
};

// A clamd client: one connection per scan() or ping() call (clamd serves
// each command on its own connection), nothing kept between calls.
// Errors: clamd absent or refusing (no socket, connection refused) is
// unavailable; no answer within the timeout is timeout; a reset connection,
// an early close or an answer that is not clamd's is network_error; clamd's
// own "... ERROR" answers (other than the size limit) are unavailable. Each
// message names clamd and its address.
// Thread-safety: immutable after open(); scan() and ping() may run on many
// threads at once.
class MS_API ClamdScanner final : public Scanner {
 public:
  static Result<std::unique_ptr<ClamdScanner>> open(ClamdOptions options);
  // From the MEDIA_CLAMD_* settings; invalid_argument when clamd_url is empty.
  static Result<std::unique_ptr<ClamdScanner>> open(const ScanSettings& settings);
  ~ClamdScanner() override;

  Result<ScanResult> scan(const ScanReadFn& read, std::optional<std::uint64_t> size) override;
  Status ping() override;
  std::string describe() const override;

  const ClamdOptions& options() const;

  struct Impl;

 private:
  explicit ClamdScanner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mediastore
