#include "s3/chunked.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "core/crypto.hpp"

namespace mediastore::s3 {

namespace {

constexpr std::string_view kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr std::string_view kSignaturePrefix = ";chunk-signature=";
constexpr std::size_t kSignatureHexLength = 64;
constexpr char kCrlf[] = "\r\n";

std::size_t hex_digits(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 16) {
    v >>= 4;
    ++n;
  }
  return n;
}

std::uint64_t encoded_chunk_length(std::uint64_t size) {
  return hex_digits(size) + kSignaturePrefix.size() + kSignatureHexLength + 2 + size + 2;
}

}  // namespace

std::string chunk_string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view previous_signature,
                                 std::string_view chunk_sha256_hex) {
  std::string s;
  s.reserve(25 + amz_date.size() + scope.size() + previous_signature.size() + 64 + chunk_sha256_hex.size() + 5);
  s += "AWS4-HMAC-SHA256-PAYLOAD\n";
  s += amz_date;
  s.push_back('\n');
  s += scope;
  s.push_back('\n');
  s += previous_signature;
  s.push_back('\n');
  s += kEmptySha256;
  s.push_back('\n');
  s += chunk_sha256_hex;
  return s;
}

std::string chunk_signature(std::string_view signing_key, std::string_view amz_date, std::string_view scope,
                            std::string_view previous_signature, std::string_view chunk_sha256_hex) {
  return detail::hex_lower(
      detail::hmac_sha256(signing_key, chunk_string_to_sign(amz_date, scope, previous_signature, chunk_sha256_hex)));
}

std::string chunk_header(std::uint64_t size, std::string_view signature) {
  return fmt::format("{:x}{}{}\r\n", size, kSignaturePrefix, signature);
}

std::uint64_t chunked_encoded_length(std::uint64_t size, std::uint64_t chunk_size) {
  const std::uint64_t full = size / chunk_size;
  const std::uint64_t rest = size % chunk_size;
  std::uint64_t n = full * encoded_chunk_length(chunk_size);
  if (rest > 0) n += encoded_chunk_length(rest);
  return n + encoded_chunk_length(0);
}

ChunkedSigningSource::ChunkedSigningSource(BodySource& inner, std::uint64_t size, std::size_t chunk_size,
                                           std::size_t depth)
    : inner_(inner),
      size_(size),
      chunk_size_(std::max<std::size_t>(chunk_size, 8 << 10)),
      depth_(std::max<std::size_t>(depth, 1)),
      encoded_size_(chunked_encoded_length(size, chunk_size_)) {
  // depth_ chunks queued ahead plus the one being sent; no more than the
  // object needs.
  const std::uint64_t chunks = size / chunk_size_ + 1;
  const std::size_t buffers = static_cast<std::size_t>(std::min<std::uint64_t>(depth_ + 1, chunks));
  const std::size_t buffer_size = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size_, size));
  for (std::size_t i = 0; i < buffers; ++i) {
    auto c = std::make_unique<Chunk>();
    c->data.resize(buffer_size);
    free_.push_back(std::move(c));
  }
}

ChunkedSigningSource::~ChunkedSigningSource() { stop_reader(); }

void ChunkedSigningSource::start(ChunkSigningContext context) {
  ctx_ = std::move(context);
  (void)rewind();  // only resets state: always ok
}

void ChunkedSigningSource::stop_reader() {
  if (reader_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    reader_.join();
  }
  std::lock_guard<std::mutex> lock(mu_);
  stop_ = false;
  reader_done_ = false;
  reader_status_ = Status::Ok();
  while (!ready_.empty()) {
    free_.push_back(std::move(ready_.front()));
    ready_.pop_front();
  }
  if (current_) free_.push_back(std::move(current_));
}

Status ChunkedSigningSource::rewind() {
  stop_reader();
  started_ = false;
  finished_ = false;
  header_.clear();
  header_pos_ = data_pos_ = trailer_pos_ = 0;
  data_sent_ = 0;
  return Status::Ok();
}

void ChunkedSigningSource::reader_loop() {
  std::uint64_t off = 0;
  for (;;) {
    std::unique_ptr<Chunk> c;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !free_.empty(); });
      if (stop_) return;
      c = std::move(free_.back());
      free_.pop_back();
    }
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size_, size_ - off));
    std::size_t got = 0;
    Status err;
    while (got < want) {
      auto r = inner_.read_at(off + got, c->data.data() + got, want - got);
      if (!r.ok()) {
        err = r.status();
        break;
      }
      if (*r == 0) {
        err = Status::IoError(fmt::format("the upload source ended after {} of {} bytes", off + got, size_));
        break;
      }
      got += *r;
    }
    if (err.ok()) {
      c->size = want;
      c->sha256_hex = detail::hex_lower(detail::sha256(std::string_view(c->data.data(), want)));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!err.ok()) {
        free_.push_back(std::move(c));
        reader_status_ = err;
        reader_done_ = true;
      } else {
        ready_.push_back(std::move(c));
        if (want == 0) reader_done_ = true;  // the final 0-byte chunk is queued
      }
    }
    cv_.notify_all();
    if (!err.ok() || want == 0) return;
    off += want;
  }
}

Status ChunkedSigningSource::next_chunk() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (current_) {
      free_.push_back(std::move(current_));
      cv_.notify_all();
    }
    cv_.wait(lock, [&] { return !ready_.empty() || (reader_done_ && !reader_status_.ok()); });
    if (ready_.empty()) return reader_status_;
    current_ = std::move(ready_.front());
    ready_.pop_front();
  }
  prev_signature_ = chunk_signature(ctx_.signing_key, ctx_.amz_date, ctx_.scope, prev_signature_, current_->sha256_hex);
  header_ = chunk_header(current_->size, prev_signature_);
  header_pos_ = data_pos_ = trailer_pos_ = 0;
  return Status::Ok();
}

Result<std::size_t> ChunkedSigningSource::read(void* buf, std::size_t n) {
  if (!started_) {
    if (!inner_.random_access()) return Status::Internal("a streamed upload needs a source with random access");
    started_ = true;
    prev_signature_ = ctx_.seed_signature;
    reader_ = std::thread([this] { reader_loop(); });
    MS_RETURN_IF_ERROR(next_chunk());
  }
  char* out = static_cast<char*>(buf);
  std::size_t done = 0;
  while (done < n && !finished_) {
    if (header_pos_ < header_.size()) {
      const std::size_t k = std::min(n - done, header_.size() - header_pos_);
      std::memcpy(out + done, header_.data() + header_pos_, k);
      header_pos_ += k;
      done += k;
    } else if (data_pos_ < current_->size) {
      const std::size_t k = std::min(n - done, current_->size - data_pos_);
      std::memcpy(out + done, current_->data.data() + data_pos_, k);
      data_pos_ += k;
      data_sent_ += k;
      done += k;
    } else if (trailer_pos_ < 2) {
      const std::size_t k = std::min(n - done, 2 - trailer_pos_);
      std::memcpy(out + done, kCrlf + trailer_pos_, k);
      trailer_pos_ += k;
      done += k;
    } else if (current_->size == 0) {
      finished_ = true;
    } else {
      // Hand what is ready to the transport rather than wait for the reader.
      if (done > 0) break;
      MS_RETURN_IF_ERROR(next_chunk());
    }
  }
  return done;
}

}  // namespace mediastore::s3
