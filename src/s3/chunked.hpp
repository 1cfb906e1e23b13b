// Streaming SigV4 uploads (aws-chunked, STREAMING-AWS4-HMAC-SHA256-PAYLOAD):
// the body goes out as chunks, each carrying a signature chained from the
// previous one (the first from the request's seed signature) over the
// chunk's SHA-256, so the server refuses a damaged or reordered chunk without
// the client hashing the whole body before the first byte is sent.
//
// Wire format of one chunk: hex(size) ";chunk-signature=" sig "\r\n" data
// "\r\n"; the body ends with a 0-byte chunk. The request carries
// "x-amz-decoded-content-length: <object size>", x-amz-content-sha256 =
// kStreamingPayload, and Content-Length = chunked_encoded_length(). The
// client leaves out the "Content-Encoding: aws-chunked" that AWS's example
// sends (see put_object_single: servers recognise the framing without it, and
// some store it on the object).
//
// ChunkedSigningSource reads and hashes the next chunks on its own thread
// (a bounded queue of `depth` buffers of `chunk_size` bytes) while libcurl
// sends the current one; the chunk signature (one HMAC) is computed on
// libcurl's thread when a chunk is handed over.
//
// Thread-safety: the pure functions are thread-safe. A ChunkedSigningSource
// is used by one request at a time (its reader thread is internal).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "s3/body.hpp"

namespace mediastore::s3 {

inline constexpr std::string_view kStreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";

// "AWS4-HMAC-SHA256-PAYLOAD\n<amz_date>\n<scope>\n<previous signature>\n
// <sha256 of the empty string>\n<chunk_sha256_hex>".
std::string chunk_string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view previous_signature,
                                 std::string_view chunk_sha256_hex);
// Hex HMAC-SHA256 of chunk_string_to_sign(...) with the raw signing key.
std::string chunk_signature(std::string_view signing_key, std::string_view amz_date, std::string_view scope,
                            std::string_view previous_signature, std::string_view chunk_sha256_hex);
// hex(size) ";chunk-signature=" signature "\r\n".
std::string chunk_header(std::uint64_t size, std::string_view signature);
// Bytes on the wire of an object of `size` bytes sent in chunks of
// chunk_size (the last one shorter), the final 0-byte chunk included.
std::uint64_t chunked_encoded_length(std::uint64_t size, std::uint64_t chunk_size);

// What a chunk signature chains from: set per attempt after the request is
// signed (the seed is that request's signature).
struct ChunkSigningContext {
  std::string signing_key;  // raw (binary) key of the request's day/region/service; secret
  std::string amz_date;     // "20130524T000000Z"
  std::string scope;        // "20130524/us-east-1/s3/aws4_request"
  std::string seed_signature;
};

class ChunkedSigningSource final : public BodySource {
 public:
  // Sends the first `size` bytes of `inner` (read with read_at, so inner
  // must be random_access()). chunk_size >= 8 KiB; depth >= 1 buffers
  // queued ahead of the chunk being sent.
  ChunkedSigningSource(BodySource& inner, std::uint64_t size, std::size_t chunk_size = 1 << 20, std::size_t depth = 3);
  ~ChunkedSigningSource() override;
  ChunkedSigningSource(const ChunkedSigningSource&) = delete;
  ChunkedSigningSource& operator=(const ChunkedSigningSource&) = delete;

  // Sets the signing context of the next attempt and starts over from the
  // first byte.
  void start(ChunkSigningContext context);

  // The encoded stream. A read error or a source shorter than `size` fails
  // the read (and so the request) with that Status.
  Result<std::size_t> read(void* buf, std::size_t n) override;
  std::optional<std::uint64_t> size() const override { return encoded_size_; }
  // Starts over with the same context (libcurl resending on a new connection).
  Status rewind() override;

  std::uint64_t object_size() const { return size_; }
  // Object bytes handed to the transport so far in this attempt.
  std::uint64_t data_bytes_sent() const { return data_sent_; }

 private:
  struct Chunk {
    std::vector<char> data;
    std::size_t size = 0;
    std::string sha256_hex;
  };

  void stop_reader();
  void reader_loop();
  // Takes the next hashed chunk from the reader (blocking) and builds its
  // header; false with status on error.
  Status next_chunk();

  BodySource& inner_;
  const std::uint64_t size_;
  const std::size_t chunk_size_;
  const std::size_t depth_;
  const std::uint64_t encoded_size_;
  ChunkSigningContext ctx_;

  // Shared with the reader thread, under mu_.
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Chunk>> ready_;
  std::vector<std::unique_ptr<Chunk>> free_;
  Status reader_status_;
  bool reader_done_ = false;
  bool stop_ = false;
  std::thread reader_;

  // libcurl's side.
  bool started_ = false;
  bool finished_ = false;  // the final chunk has been fully sent
  std::unique_ptr<Chunk> current_;
  std::string prev_signature_;
  std::string header_;  // of the current chunk
  std::size_t header_pos_ = 0;
  std::size_t data_pos_ = 0;
  std::size_t trailer_pos_ = 0;  // of "\r\n" after the data
  std::uint64_t data_sent_ = 0;
};

}  // namespace mediastore::s3
