// libFuzzer target for the streaming multipart/form-data parser of the
// upload endpoint. The first byte picks how the input is cut into pieces
// (the parser must give the same parts for any cut); the rest is the body,
// with the boundary "b0undary". Must never crash, hang or leak, and never
// pass on more data bytes than it was given.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/multipart.hpp"

using namespace mediastore;
using namespace mediastore::detail;

namespace {

struct Collect final : MultipartSink {
  std::string out;
  Status on_part(const PartInfo& p) override {
    out += "[" + p.name + "|" + p.filename + "|" + p.content_type + "]";
    return Status::Ok();
  }
  Status on_data(std::string_view d) override {
    out.append(d);
    return Status::Ok();
  }
  Status on_part_end() override {
    out += "<end>";
    return Status::Ok();
  }
};

// Parses body in pieces of `step` bytes (0 = whole); returns the parts seen
// and whether the body was accepted.
std::pair<std::string, bool> parse(std::string_view body, std::size_t step) {
  Collect sink;
  MultipartParser parser("b0undary", {.max_header_bytes = 512, .max_parts = 8}, sink);
  bool ok = true;
  if (step == 0) step = body.size() + 1;
  for (std::size_t i = 0; i < body.size() && ok; i += step) ok = parser.feed(body.substr(i, step)).ok();
  if (ok) ok = parser.finish().ok();
  return {sink.out, ok};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::size_t step = data[0] % 17;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  (void)multipart_boundary(body.substr(0, 200));
  const auto whole = parse(body, 0);
  const auto cut = parse(body, step);
  // An accepted body gives the same parts however it arrives.
  if (whole.second && cut.second && whole.first != cut.first) std::abort();
  if (whole.second != cut.second && step != 0) {
    // A limit or a malformed piece is found either way.
    std::abort();
  }
  return 0;
}
